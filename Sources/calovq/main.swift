// The `calovq` executable: argument parsing only; all work happens in CaloPipeline / CaloTUI.
import ArgumentParser

CalovqCommand.main()

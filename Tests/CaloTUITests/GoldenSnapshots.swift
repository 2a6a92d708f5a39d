// Expected text of real renders of the seeded fixture files (Fixtures.writeFile, seed 1337).
// Regenerate after an intended rendering change with
//   CALOVQ_UPDATE_SNAPSHOTS=/tmp/grid.txt swift test --skip-build --filter ScreenTests/testGoldenGridScreen
// then paste /tmp/grid.txt below and review the diff before committing.

enum GoldenSnapshots {
  static let gridDS1Photon = """
     CaloVQ │ ds1-photon │ 65.5 GeV │ norm global        All layers │ theme viridis
    Data  ds1-photon  ds1-pion  ds2  ds3   E 256 MeV ━━●━━ 4.19 TeV  65.5 GeV (9/15)
    All layers: last shower (c: change)
    layers 1-5 of 5  ░░░░░░▒▒▒▒▒▒▓▓▓▓▓▓██████ 1 … 1.35e+03 MeV (log)
    L0 1.82 GeV                L1 2.12 GeV                L2 4.16 GeV
       5 ██████████████████             ········                   ········
      10 ██████████████████           ···░▒▒▒▒░···               ····░▒▒░····
      30 █████████████████           ··▒▒▒▒▒▒▒▒▒░··             ···▒▒▒▒▒▒▒▒░··
      50 █████████████████          ··░▒▒▓▒▓▒▒▒░▒···           ···░▒▒▒▒▓▒▓▒▒░··
     100 ███████████████            ··░▒▒▒▓▒▒▒▒▒░···           ···░▒▒▒▓▓▓▒▒▒░··
     200 ███████████                 ··▒▒▒▒▒▒▒▒░░··             ···░▒▒▒▒▓▒▒▒··
     400 ████                         ···░░░░░····               ····░▒▒░····
     600 ·                              ········                   ········
    L3 2.52 GeV                L12 891 MeV
      50 █████████████████████  100 █████████████████
     100 ████████████████████   200 █████████████████
     200 █████████████████      400 █████████████
     400 █████████             1000 ██████████
     600 ██                    2000 █



    2 showers drawn from file, T ms/shower │ reference: 12 showers near 65.5 GeV
    gGen GBatch nNorm dData →Energy ]Layer vView tTheme ?Help qQuit

    """
}

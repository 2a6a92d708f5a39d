// Glue between the two stages: the VQ-VAE (`Stage1Model`) is the `ShowerCodec` that stage-2 training
// and generation use, and the built-in loader for `stage1.safetensors` files.

import CaloModel

extension Stage1Model: ShowerCodec {
  // The protocol's members without the batch-size knob; Stage1Model's own methods default it.
  public func encode(energies: [Double], showers: [Float]) -> [Int32] {
    encode(energies: energies, showers: showers, batchSize: 256)
  }

  public func decode(codes: [Int32], energies: [Double]) -> [Float] {
    decode(codes: codes, energies: energies, batchSize: 256)
  }
}

extension Stage1Loaders {
  /// Loads a `stage1.safetensors` file written by `calovq train stage1`.
  public static let vqvae: Loader = { path in try Stage1Model.load(from: path) }
}

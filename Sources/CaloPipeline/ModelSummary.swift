// `calovq info MODEL_DIR`: what a model folder holds, read from its files — stage-1 and GPT configs, the
// R quantiser, sampling.json and spot-rounding.json — so a user can tell two folders apart without
// running them.
import CaloModel
import Foundation

/// Text summary of a model folder (stage1.safetensors + stage2.safetensors, optional sampling.json and
/// spot-rounding.json).
public enum ModelSummary {
  /// The report, one fact per line.
  /// - Throws: the model loaders' errors (a missing or corrupt file is named), and the sampling and
  ///   spot-rounding loaders' errors for a bad JSON file.
  public static func report(directory dir: String) throws -> String {
    let (codec, gpt) = try loadModelDirectory(dir)
    let cfg = gpt.config
    var lines = ["model folder \(dir)"]
    func size(_ name: String) -> String {
      let bytes = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? nil
      return bytes.map { String(format: "%.2f MB", Double($0) / 1_048_576) } ?? "?"
    }
    if let m = codec as? Stage1Model {
      let c = m.config
      lines.append("stage 1 (stage1.safetensors, \(size("stage1.safetensors"))): \(c.dataset.rawValue), "
        + "\(c.norm == .layerwise ? "layer-wise" : "global") normalisation, \(c.preset) preset, "
        + "\(m.generator.scalarCount) parameters; codebook K \(c.codebookSize) × D \(c.codeDim), "
        + "latent \(m.latentShape), \(m.rCount) R value\(m.rCount == 1 ? "" : "s") per shower")
      // The loss weights it was trained with (a bundled model's provenance beside its MODEL.md).
      let le = c.layerEnergyLossWeight, re = c.radialEnergyLossWeight
      lines.append("stage-1 loss weights: EC \(c.ecWeight), width \(c.widthWeight), GAN \(c.discWeight)"
        + (le > 0 ? ", layer energy \(le)" : "")
        + (re > 0 ? ", radial energy \(re)" : "") + "; He init \(c.heInit == true ? "yes" : "no")"
        + (c.trainsDecoderOnly ? "; decoder refitted with the codes kept (--decoder-only)" : ""))
    } else {
      lines.append("stage 1 (stage1.safetensors, \(size("stage1.safetensors"))): latent \(codec.latentShape)")
    }
    let rt = cfg.rTokens
    let condition: String
    switch cfg.condition {
    case let .energyClass(classes, dim): condition = "energy class (\(classes) × \(dim))"
    case .logEnergy: condition = "log-energy scalar"
    }
    lines.append("stage 2 (stage2.safetensors, \(size("stage2.safetensors"))): \(cfg.preset) GPT, "
      + "\(cfg.nLayer) block\(cfg.nLayer == 1 ? "" : "s") × \(cfg.nHead) head\(cfg.nHead == 1 ? "" : "s") × "
      + "\(cfg.nEmbd) wide, \(gpt.parameterCount) parameters, T = \(cfg.blockSize) "
      + "(\(rt.tokenCount) R tokens + \(cfg.latentLength) codes), condition \(condition)")
    let what: String
    switch rt.mode {
    case .global: what = "the shower's total"
    case let .layerwise(n): what = "the sum, then \(n) layers"
    }
    lines.append("R tokens: \(rt.valueCount) value\(rt.valueCount == 1 ? "" : "s") (\(what)) × \(rt.tokensPerValue) "
      + "token\(rt.tokensPerValue == 1 ? "" : "s"), \(rt.bits) bits, quantiser \(rt.quantiserDescription)")
    if let sup = cfg.rSupport {
      let lo = sup.logEnergyStart, hi = lo + Double(sup.binCount) * sup.binWidth
      lines.append(String(format: "R support: %d energy bins (log10 E/MeV %.2f–%.2f)%@; applied with the R constraint",
                          sup.binCount, lo, hi, sup.zeroLogitOffsets == nil ? "" : ", with empty-rate offsets"))
    }
    let hasSampling = FileManager.default.fileExists(atPath: dir + "/" + modelSamplingFileName)
    let s = try loadModelSampling(dir)
    let parts = s.differencesFromThePaper
    lines.append("sampling: " + (parts.isEmpty ? "as in the paper" : parts.joined(separator: ", "))
      + (hasSampling ? " (\(modelSamplingFileName))" : " (no \(modelSamplingFileName): the paper's defaults)"))
    if let t = try loadModelSpotRounding(dir) {
      let spots = t.conservesLayerEnergy != true ? "plain spots (each ε)"
        : t.randomSpotSizes == true ? "layer-conserving spots of random sizes" : "layer-conserving spots"
      var parts = [spots, t.exponents == nil ? "no layer exponents" : "layer exponents γ"]
      if t.totalRatioDense != nil { parts.insert("E_tot/E_inc map", at: 0) }
      if t.radialTransportDense != nil { parts.append("radial transport") }
      if t.radialWeights != nil { parts.append("radial weights") }
      if let k = t.epsilonEnergyExponent { parts.append("ε ∝ E_layer^\(k)") }
      if t.widthSpreads != nil { parts.append("width spreads ω") }
      if t.angularSpreads != nil { parts.append("angular spreads σ") }
      if t.centreTilts != nil { parts.append("centre tilts τ") }
      if t.singleDepositBelowMeV != nil { parts.append("single deposits below E_c") }
      if t.emptyBelowMeV != nil { parts.append("empty layers below E_0") }
      if t.layerScales != nil { parts.append(t.layerPivotShares != nil ? "layer scales and spreads" : "layer scales") }
      if t.randomRotation == true { parts.append("random rotation") }
      lines.append("output calibration (\(modelSpotRoundingFileName)): \(t.binCount) energy bins × "
        + "\(t.thresholdsMeV.first?.count ?? 0) layers, " + parts.joined(separator: ", "))
    } else {
      lines.append("output calibration: none (dense decoder output; `calovq calibrate-sparsity` fits one)")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

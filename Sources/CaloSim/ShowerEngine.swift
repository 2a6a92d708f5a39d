// Generates one shower into a voxel buffer: EM showers as GFlash energy spots, pions as a MIP track up to
// the first interaction followed by EM sub-showers and a hadronic cascade, then per-voxel sampling
// fluctuations, the calibration constant term and the readout threshold.

import CaloGeometry
import Foundation

/// Precomputed per-slab lookup data (depth ranges, voxel layout) so that the hot loops only index arrays.
struct SlabInfo {
  var slab: Slab
  /// Depth of the slab front in X0 and in λ_I from the calorimeter front.
  var t0: Double, s0: Double
  /// Flat offset of the layer's voxels, bins, edges (mm); nR = 0 for dead material.
  var offset: Int, nR: Int, nAlpha: Int
  var edges: [Double]
  /// Outer radius (mm) and 1/pitch for uniformly binned layers (0 if the edges are irregular).
  var rMax: Double, invPitch: Double
  var t1: Double { t0 + slab.x0 }
  var s1: Double { s0 + slab.lambda }
  var readout: Bool { nR > 0 }

  /// Radial bin of radius `r` mm, or −1 outside the outer edge (energy lost laterally).
  @inline(__always) func radialBin(_ r: Double) -> Int {
    if r >= rMax { return -1 }
    if invPitch > 0 { return min(Int(r * invPitch), nR - 1) }
    var lo = 0, hi = nR  // edges[lo] <= r < edges[hi]
    while hi - lo > 1 {
      let mid = (lo + hi) >> 1
      if edges[mid] <= r { lo = mid } else { hi = mid }
    }
    return lo
  }

  /// Angular bin of azimuth `alpha` ∈ [−π, π]: bin a covers [−π + a·2π/nα, −π + (a+1)·2π/nα).
  @inline(__always) func alphaBin(_ alpha: Double) -> Int {
    if nAlpha == 1 { return 0 }
    let a = Int((alpha + Double.pi) * Double(nAlpha) / (2 * Double.pi))
    return min(max(a, 0), nAlpha - 1)
  }
}

/// The per-dataset engine: immutable after construction, shared by all threads.
struct ShowerEngine: Sendable {
  let model: DetectorModel
  let slabs: [SlabInfo]
  let totalX0: Double, totalLambda: Double
  let voxels: Int

  init(model: DetectorModel) {
    self.model = model
    let g = model.geometry
    var infos: [SlabInfo] = []
    var t = 0.0, s = 0.0
    for slab in model.slabs {
      var info = SlabInfo(slab: slab, t0: t, s0: s, offset: 0, nR: 0, nAlpha: 1, edges: [0], rMax: 0, invPitch: 0)
      if let l = slab.layerIndex, g.layers[l].isRelevant {
        let layer = g.layers[l]
        info.offset = g.offsets[l]
        info.nR = layer.nR
        info.nAlpha = layer.nAlpha
        info.edges = layer.rEdges
        info.rMax = layer.rEdges.last!
        let pitch = layer.rEdges[1]
        let uniform = (0...layer.nR).allSatisfy { abs(layer.rEdges[$0] - Double($0) * pitch) < 1e-9 * pitch }
        info.invPitch = uniform ? 1 / pitch : 0
      }
      infos.append(info)
      t += slab.x0
      s += slab.lambda
    }
    slabs = infos
    totalX0 = t
    totalLambda = s
    voxels = g.voxelCount
  }

  /// X0 depth of λ depth `s` (piecewise linear through the slabs).
  func x0Depth(atLambda s: Double) -> Double {
    for info in slabs where s < info.s1 {
      return info.t0 + (info.slab.lambda > 0 ? (s - info.s0) / info.slab.lambda * info.slab.x0 : 0)
    }
    return totalX0 + (s - totalLambda) * 4  // beyond the stack: irrelevant, nothing is recorded
  }

  /// Index of the slab containing λ depth `s` (slabs.count if beyond).
  func slabIndex(atLambda s: Double) -> Int { slabs.firstIndex { s < $0.s1 } ?? slabs.count }

  // MARK: - One shower

  /// Scratch buffers one thread reuses across showers.
  struct Scratch {
    var em: [Float]
    var had: [Float]
    init(voxels: Int) {
      em = [Float](repeating: 0, count: voxels)
      had = [Float](repeating: 0, count: voxels)
    }
  }

  /// Simulates one shower of `energy` MeV into `out` (exactly `voxels` values, overwritten).
  func simulate(energy: Double, rng: inout SimRNG, scratch: inout Scratch, out: UnsafeMutableBufferPointer<Float>) {
    precondition(out.count == voxels, "output row has \(out.count) values, geometry needs \(voxels)")
    precondition(energy > 0 && energy.isFinite, "incident energy must be > 0 MeV, got \(energy)")
    for i in 0..<voxels { out[i] = 0 }
    switch model.particle {
    case .electron, .photon:
      let start = model.particle == .photon ? rng.exponential(mean: 9.0 / 7.0) : 0
      scratch.em.withUnsafeMutableBufferPointer { em in
        depositEM(energy: energy, startX0: start, dx: 0, dy: 0, rng: &rng, into: em)
      }
      smear(&scratch.em, into: out, hadronic: false, rng: &rng)
    case .pion:
      simulatePion(energy: energy, rng: &rng, scratch: &scratch, out: out)
    }
    if model.constantTerm > 0 {
      let scale = Float(max(0, 1 + model.constantTerm * rng.normal()))
      for i in 0..<voxels { out[i] *= scale }
    }
    let thr = Float(model.thresholdMeV)
    if thr > 0 { for i in 0..<voxels where out[i] < thr { out[i] = 0 } }
  }

  /// Adds the true energies of `buf` (zeroing it on the way, so the scratch buffer is clean for the next
  /// shower) to `out` as visible energies: each voxel gets e_vis ~ Gamma(shape e/θ, scale θ)·scale with
  /// θ = c²·1000 MeV, i.e. mean e·scale and σ²/mean = c² GeV. Summed over voxels this gives
  /// σ_E/E = c/√(E/GeV) with independent cell-to-cell fluctuations.
  func smear(_ buf: inout [Float], into out: UnsafeMutableBufferPointer<Float>, hadronic: Bool, rng: inout SimRNG) {
    buf.withUnsafeMutableBufferPointer { b in
      for info in slabs where info.readout {
        let c = hadronic ? info.slab.cHad : info.slab.cEM
        let scale = hadronic ? info.slab.hOverE : 1
        let theta = c * c * 1000
        for k in info.offset..<(info.offset + info.nR * info.nAlpha) {
          let e = Double(b[k])
          if e <= 0 { continue }
          b[k] = 0
          let v = theta > 0 ? rng.gamma(shape: e / theta) * theta : e
          out[k] += Float(v * scale)
        }
      }
    }
  }

  /// Deposits an EM shower of `energy` MeV starting at X0 depth `startX0`, its axis displaced by
  /// (dx, dy) mm, as GFlash spots of true energy into `buf` (shape (voxels)).
  func depositEM(energy: Double, startX0: Double, dx: Double, dy: Double, rng: inout SimRNG,
                 into buf: UnsafeMutableBufferPointer<Float>) {
    let medium = model.em
    // Below ~20 E_c the parameterisation is outside its validity: deposit locally on the axis.
    if energy < 20 * medium.criticalEnergy {
      depositPoint(energy: energy, x0Depth: startX0 + 1, dx: dx, dy: dy, rng: &rng, into: buf)
      return
    }
    let prof = LongitudinalProfile(energyMeV: energy, medium: medium, rng: &rng)
    let eGeV = energy / 1000
    let c = slabs.first { $0.readout }?.slab.cEM ?? 0.1
    let nSpots = min(Double(model.maxSpots), max(20, model.spotScale * 10.3 / c * pow(eGeV, 0.959)))
    let offAxis = dx != 0 || dy != 0
    var pE = 0.0, pS = 0.0  // cumulative energy and spot fractions so far
    for info in slabs where info.t1 > startX0 {
      let ua = max(info.t0 - startX0, 0), ub = info.t1 - startX0
      let nSub = max(1, Int(((ub - ua) / 0.25).rounded(.up)))
      let h = (ub - ua) / Double(nSub)
      for j in 0..<nSub {
        let u1 = ua + Double(j + 1) * h
        let pE1 = regularizedGammaP(prof.alpha, prof.beta * u1)
        let pS1 = regularizedGammaP(prof.spotAlpha, prof.spotBeta * u1)
        let dE = energy * (pE1 - pE), dP = pS1 - pS
        pE = pE1
        pS = pS1
        guard info.readout, dE > 1e-7 * energy else { continue }
        let n = max(1, Int((nSpots * dP).rounded()))
        let eSpot = Float(dE / Double(n))
        let radial = RadialProfile(tau: prof.tau(at: u1 - 0.5 * h), energyGeV: eGeV, medium: medium)
        let rm = info.slab.moliereRadius
        let rCore = radial.coreRadius * rm, rTail = radial.tailRadius * rm, pCore = radial.coreFraction
        for _ in 0..<n {
          let u = rng.uniform()
          let rr = (rng.uniform() < pCore ? rCore : rTail) * (u / (1 - u)).squareRoot()
          if offAxis {
            let phi = 2 * Double.pi * rng.uniform()
            addSpot(info, x: dx + rr * cos(phi), y: dy + rr * sin(phi), e: eSpot, buf)
          } else {
            let rb = info.radialBin(rr)
            if rb < 0 { continue }
            // Azimuth uniform and α bins equal: the bin itself is uniform.
            let a = info.nAlpha == 1 ? 0 : rng.int(below: info.nAlpha)
            buf[info.offset + a * info.nR + rb] += eSpot
          }
        }
      }
      if pE > 1 - 1e-7 { break }
    }
  }

  /// Adds energy at transverse position (x, y) mm (η-axis x, φ-axis y) of a readout slab.
  @inline(__always) func addSpot(_ info: SlabInfo, x: Double, y: Double, e: Float,
                                 _ buf: UnsafeMutableBufferPointer<Float>) {
    let rb = info.radialBin((x * x + y * y).squareRoot())
    if rb < 0 { return }
    let a = info.alphaBin(atan2(y, x))
    buf[info.offset + a * info.nR + rb] += e
  }

  /// A low-energy deposit: all energy at one point near the axis.
  func depositPoint(energy: Double, x0Depth t: Double, dx: Double, dy: Double, rng: inout SimRNG,
                    into buf: UnsafeMutableBufferPointer<Float>) {
    guard let info = slabs.first(where: { t < $0.t1 }), info.readout else { return }
    let r = rng.exponential(mean: 2), phi = 2 * Double.pi * rng.uniform()
    addSpot(info, x: dx + r * cos(phi), y: dy + r * sin(phi), e: Float(energy), buf)
  }

  // MARK: - Pions

  /// A charged pion (gflash_facts.md §6–7.3): MIP track to the first interaction at λ depth
  /// s_int ~ Exp(1.2 λ_I); there the available energy splits into an EM fraction f_em ~ Beta (π⁰ → γγ
  /// sub-showers, GFlash) and a hadronic cascade (Gamma profile in λ, broad radial law, response h/e).
  func simulatePion(energy: Double, rng: inout SimRNG, scratch: inout Scratch, out: UnsafeMutableBufferPointer<Float>) {
    let sInt = rng.exponential(mean: model.pionLambdaFactor)
    // MIP track up to the interaction (or until the pion has lost all its energy).
    var left = energy
    for info in slabs where info.s0 < sInt && left > 0 {
      let frac = info.slab.lambda > 0 ? min(1, (sInt - info.s0) / info.slab.lambda) : 1
      let lost = min(info.slab.mipTrue * frac, left)
      let f = info.slab.mipTrue > 0 ? lost / info.slab.mipTrue : 0
      left -= lost
      guard info.readout, f > 0 else { continue }
      // Landau-like spread of the ionisation signal: Gamma with 25 % width.
      let vis = info.slab.mipVisible * f * rng.gamma(shape: 16) / 16
      let a = info.nAlpha == 1 ? 0 : rng.int(below: info.nAlpha)
      out[info.offset + a * info.nR] += Float(vis)
    }
    guard left > 0, sInt < totalLambda else { return }  // stopped or punched through
    let eGeV = left / 1000
    // Mean EM fraction 1 − (E/E0)^(k−1), E0 = 1 GeV, k = 0.82; event-by-event Beta with sd 0.12.
    let mean = min(max(1 - pow(max(eGeV, 1e-3), -0.18), 0.03), 0.95)
    let nu = max(mean * (1 - mean) / (0.12 * 0.12) - 1, 2)
    let fem = rng.beta(mean * nu, (1 - mean) * nu)
    let eEM = fem * left, eHad = left - eEM
    let tInt = x0Depth(atLambda: sInt)
    let lateral = slabs[min(slabIndex(atLambda: sInt), slabs.count - 1)].slab.lambdaLength
    scratch.em.withUnsafeMutableBufferPointer { em in
      // π⁰ photons: 1–3 sub-showers (Dirichlet split), each converting after Exp(9/7 X0) and displaced
      // from the pion axis by a few cm, which gives hadron showers their irregular, lumpy shapes.
      let nSub = eEM > 2000 ? 1 + rng.int(below: 3) : 1
      var w = (0..<nSub).map { _ in rng.exponential(mean: 1) }
      let sum = w.reduce(0, +)
      for k in 0..<nSub {
        w[k] /= sum
        let off = 0.05 * lateral * (-2 * log(rng.uniform())).squareRoot()
        let phi = 2 * Double.pi * rng.uniform()
        depositEM(energy: w[k] * eEM, startX0: tInt + rng.exponential(mean: 9.0 / 7.0),
                  dx: off * cos(phi), dy: off * sin(phi), rng: &rng, into: em)
      }
    }
    scratch.had.withUnsafeMutableBufferPointer { had in
      depositHadronic(energy: eHad, totalGeV: eGeV, startLambda: sInt, rng: &rng, into: had)
    }
    smear(&scratch.em, into: out, hadronic: false, rng: &rng)
    smear(&scratch.had, into: out, hadronic: true, rng: &rng)
  }

  /// The hadronic cascade: longitudinal Gamma in λ from the interaction point (shape a = 0.786 +
  /// 0.427 ln E, rate d = 0.978, the X0-free term of the Bock-type profile) with per-shower log-normal
  /// fluctuations; radial law 2rR²/(r²+R²)² with median R growing with depth, in units of λ_I.
  func depositHadronic(energy: Double, totalGeV: Double, startLambda s0: Double, rng: inout SimRNG,
                       into buf: UnsafeMutableBufferPointer<Float>) {
    guard energy > 0 else { return }
    let a = max(0.786 + 0.427 * log(max(totalGeV, 0.1)), 0.6) * exp(0.1 * rng.normal())
    let d = 0.978 * exp(0.1 * rng.normal())
    let widthScale = exp(0.2 * rng.normal())
    let nSpots = min(4000, max(50, 400 * (energy / 1000).squareRoot()))
    var p = 0.0
    for info in slabs where info.s1 > s0 {
      let ua = max(info.s0 - s0, 0), ub = info.s1 - s0
      let nSub = max(1, Int(((ub - ua) / 0.1).rounded(.up)))
      let h = (ub - ua) / Double(nSub)
      for j in 0..<nSub {
        let u1 = ua + Double(j + 1) * h
        let p1 = regularizedGammaP(a, d * u1)
        let dE = energy * (p1 - p)
        let dP = p1 - p
        p = p1
        guard info.readout, dE > 1e-7 * energy else { continue }
        let n = max(1, Int((nSpots * dP).rounded()))
        let eSpot = Float(dE / Double(n))
        let depth = min(u1 - 0.5 * h, 6)
        let r50 = info.slab.lambdaLength * (0.12 + 0.03 * depth) * widthScale * exp(0.25 * rng.normal())
        for _ in 0..<n {
          let u = rng.uniform()
          let rb = info.radialBin(r50 * (u / (1 - u)).squareRoot())
          if rb < 0 { continue }
          let ab = info.nAlpha == 1 ? 0 : rng.int(below: info.nAlpha)
          buf[info.offset + ab * info.nR + rb] += eSpot
        }
      }
      if p > 1 - 1e-7 { break }
    }
  }
}

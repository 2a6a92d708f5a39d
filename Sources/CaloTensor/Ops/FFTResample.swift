// FFT down-/up-sampling along the last (angular) axis as one small real matrix per (Ain, Aout):
// y = irfft_Aout(truncate-or-zero-pad(rfft(x))) with numpy's unnormalised forward / 1/M inverse
// convention (calovq_facts.md §2.1). Amplitudes scale by Ain/Aout, exactly as in the reference.
import Foundation

/// The (Aout × Ain) real matrix M with y = M·x for FFTDown/FFTInterp along one axis.
///
/// M[m][n] = (1/Aout) Σ_{k=0}^{min(⌊Ain/2⌋, Aout/2)} c_k cos(2πk(m/Aout − n/Ain)), c_0 = 1,
/// c_k = 2 for 0 < k < Aout/2, and c_{Aout/2} = 1 (the output Nyquist bin keeps only its real part,
/// as numpy/pocketfft's irfft does). `Aout` must be even (irfft's default output length).
/// Built in Double and rounded once.
public func fftResampleMatrix(from Ain: Int, to Aout: Int) -> [Float] {
  precondition(Ain > 0 && Aout > 0 && Aout % 2 == 0, "FFT resampling needs Ain > 0 and an even Aout (got \(Ain) → \(Aout))")
  let kMax = Swift.min(Ain / 2, Aout / 2)
  var M = [Float](repeating: 0, count: Aout * Ain)
  for m in 0..<Aout {
    for n in 0..<Ain {
      var s = 0.0
      for k in 0...kMax {
        let c: Double = (k == 0 || k == Aout / 2) ? 1 : 2
        s += c * cos(2 * Double.pi * Double(k) * (Double(m) / Double(Aout) - Double(n) / Double(Ain)))
      }
      M[m * Ain + n] = Float(s / Double(Aout))
    }
  }
  return M
}

extension Tensor {
  /// Resamples the last axis from A to `size` by rfft → keep/zero-pad bins → irfft.
  /// Shapes: (…, A) → (…, size). FFTDown(n) is `fftResample(to: A − n)`, FFTInterp(n) is
  /// `fftResample(to: A + n)`. A constant 1 becomes A/size. Forward y = x·Mᵀ, backward dx += dy·M.
  public func fftResample(to size: Int) -> Tensor {
    let Ain = shape.last ?? 1, Aout = size
    let M = fftResampleMatrix(from: Ain, to: Aout)
    let rows = count / Swift.max(Ain, 1)
    var y = [Float](repeating: 0, count: rows * Aout)
    withData { px in M.withUnsafeBufferPointer { pm in y.withUnsafeMutableBufferPointer { py in
      sgemmParallel(false, true, rows, Aout, Ain, 1, px, Ain, pm.baseAddress!, Ain, 0, py.baseAddress!, Aout)
    } } }
    var s = shape
    s[s.count - 1] = Aout
    let x = self
    return Tensor.result(s, y, inputs: [x]) { out in
      let g = out.grad!
      g.withUnsafeBufferPointer { pg in M.withUnsafeBufferPointer { pm in x.withGrad { gx in
        sgemmParallel(false, false, rows, Ain, Aout, 1, pg.baseAddress!, Aout, pm.baseAddress!, Ain, 1, gx, Ain)
      } } }
    }
  }

  /// FFTDown(n): drop n (even) angular samples' worth of high-frequency bins: (…, A) → (…, A − n).
  public func fftDown(_ n: Int) -> Tensor {
    precondition(n > 0 && n % 2 == 0, "fftDown needs an even n > 0, got \(n)")
    return fftResample(to: (shape.last ?? 0) - n)
  }

  /// FFTInterp(n): append n/2 zero bins: (…, A) → (…, A + n).
  public func fftInterp(_ n: Int) -> Tensor {
    precondition(n > 0 && n % 2 == 0, "fftInterp needs an even n > 0, got \(n)")
    return fftResample(to: (shape.last ?? 0) + n)
  }
}

/// Naive twin: per row, a direct DFT (Double) of the Ain inputs, bins truncated or zero-padded to
/// Aout/2+1, then a direct inverse real DFT of length Aout (Nyquist bin real part only).
public func fftResampleNaive(_ x: [Float], rowLength Ain: Int, to Aout: Int) -> [Float] {
  let rows = x.count / Ain
  var y = [Float](repeating: 0, count: rows * Aout)
  let nb = Aout / 2 + 1
  for r in 0..<rows {
    var re = [Double](repeating: 0, count: nb), im = [Double](repeating: 0, count: nb)
    for k in 0..<Swift.min(nb, Ain / 2 + 1) {
      for n in 0..<Ain {
        let t = -2 * Double.pi * Double(k * n) / Double(Ain)
        re[k] += Double(x[r * Ain + n]) * cos(t)
        im[k] += Double(x[r * Ain + n]) * sin(t)
      }
    }
    for m in 0..<Aout {
      var s = re[0]
      for k in 1..<nb {
        let t = 2 * Double.pi * Double(k * m) / Double(Aout)
        if k == Aout / 2 { s += re[k] * cos(t) } else { s += 2 * (re[k] * cos(t) - im[k] * sin(t)) }
      }
      y[r * Aout + m] = Float(s / Double(Aout))
    }
  }
  return y
}

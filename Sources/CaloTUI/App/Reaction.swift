// What handling a key asks the event loop to do (htop's Htop_Reaction): key handlers change the
// ViewState and return these flags; only the loop talks to the worker and the terminal.

/// Requests resulting from one key press.
public struct Reaction: OptionSet, Hashable, Sendable {
  public let rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  /// Repaint the screen.
  public static let redraw = Reaction(rawValue: 1 << 0)
  /// Leave the explorer (restoring the terminal).
  public static let quit = Reaction(rawValue: 1 << 1)
  /// Dataset, energy or normalisation changed: the worker must reload its context.
  public static let contextChanged = Reaction(rawValue: 1 << 2)
  /// Produce one shower.
  public static let generateOne = Reaction(rawValue: 1 << 3)
  /// Produce a batch of showers.
  public static let generateBatch = Reaction(rawValue: 1 << 4)
  /// Clear the running averages and metrics.
  public static let resetRunning = Reaction(rawValue: 1 << 5)
  /// The theme changed (the terminal's colour pairs must be rebuilt).
  public static let themeChanged = Reaction(rawValue: 1 << 6)
  /// Draw one token of the step-by-step sequence.
  public static let stepToken = Reaction(rawValue: 1 << 7)
  /// Draw the rest of the step-by-step sequence.
  public static let finishSequence = Reaction(rawValue: 1 << 8)
  /// Encode the reference shower on screen.
  public static let encodeReference = Reaction(rawValue: 1 << 9)
}

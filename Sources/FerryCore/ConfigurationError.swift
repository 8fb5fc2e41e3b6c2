/// A setting that cannot be used: one line naming the variable, never its value when it is a
/// secret. Every backend's parser throws it, so `ferry serve` stops with the same kind of line
/// whichever part refused.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The variable (or option) to fix, e.g. `FERRY_S3_ENDPOINT`.
    public var variable: String
    /// What is wrong with it, for a person.
    public var problem: String

    /// Creates an error.
    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable): \(problem)" }
}

/// Where settings come from: a lookup by variable name that treats empty as unset (the
/// environment, a `--config` file beneath it). Backends parse their own settings from it.
public struct ConfigurationSource: Sendable {
    let lookup: @Sendable (String) -> String?

    /// Creates a source from a lookup.
    public init(_ lookup: @escaping @Sendable (String) -> String?) {
        self.lookup = lookup
    }

    /// The value of `variable`, nil when unset or empty.
    public func string(_ variable: String) -> String? {
        guard let value = lookup(variable), !value.isEmpty else { return nil }
        return value
    }

    /// A whole number of `unit` within `range`, `fallback` when unset.
    public func integer(
        _ variable: String, default fallback: Int, range: ClosedRange<Int>, unit: String
    ) throws(ConfigurationError) -> Int {
        guard let text = string(variable) else { return fallback }
        guard let number = Int(text.trimmingSpaces), range.contains(number) else {
            throw ConfigurationError(
                variable: variable,
                problem:
                    "expected a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`), `fallback` when unset.
    public func boolean(_ variable: String, default fallback: Bool) throws(ConfigurationError) -> Bool {
        switch string(variable)?.lowercased() {
        case nil: return fallback
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        case let other?:
            throw ConfigurationError(variable: variable, problem: "expected true or false, got '\(other)'")
        }
    }
}

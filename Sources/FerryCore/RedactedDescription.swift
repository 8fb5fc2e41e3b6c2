/// A value that holds secrets and shows itself everywhere only as its `description`, which leaves
/// them out: `print`, `String(reflecting:)`, `dump` and any `Mirror` reader (ServiceLifecycle logs
/// its services with `String(describing:)`, and the default mirror would list every stored field).
public protocol RedactedDescription: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {}

extension RedactedDescription {
    /// The description: never the secrets.
    public var debugDescription: String { description }

    /// One child, the description, in place of the stored fields.
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

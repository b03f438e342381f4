namespace TrustLaunch.Kbs.Secrets;

/// <summary>A sealed secret refused: malformed, not signed by a trusted signer, or not opening. The message says
/// why and never holds the value or a key.</summary>
public sealed class SealedSecretException(string message, Exception? inner = null) : Exception(message, inner);

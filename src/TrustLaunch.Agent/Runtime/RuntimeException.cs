namespace TrustLaunch.Agent.Runtime;

/// <summary>The OCI runtime refused or failed an operation; the message carries its own one-line error.</summary>
public sealed class RuntimeException(string message) : Exception(message);

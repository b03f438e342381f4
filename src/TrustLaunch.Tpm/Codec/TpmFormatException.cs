namespace TrustLaunch.Tpm.Codec;

/// <summary>
/// Bytes that do not form the TPM structure they claim to be. The message names the field, never key material.
/// (A FormatException: the runtime seals InvalidDataException.)
/// </summary>
public sealed class TpmFormatException(string message) : FormatException(message);

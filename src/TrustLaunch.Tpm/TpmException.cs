using System.Globalization;

namespace TrustLaunch.Tpm;

/// <summary>The TPM answered a command with an error response code.</summary>
public sealed class TpmException(TpmCc command, uint responseCode)
    : Exception($"TPM2_{command} failed: {TpmResponseCode.Describe(responseCode)} (0x{responseCode.ToString("X8", CultureInfo.InvariantCulture)})")
{
    public TpmCc Command { get; } = command;
    public uint ResponseCode { get; } = responseCode;

    /// <summary>The code without its handle/session/parameter number, to compare with e.g. 0x084 (TPM_RC_VALUE).</summary>
    public uint BaseCode => TpmResponseCode.BaseCode(ResponseCode);
}

/// <summary>The TPM could not be reached, or the connection broke mid-command.</summary>
public sealed class TpmTransportException(string message, Exception? inner = null) : IOException(message, inner);

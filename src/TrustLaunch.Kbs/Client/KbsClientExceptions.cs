using System.Net;

namespace TrustLaunch.Kbs.Client;

/// <summary>The broker answered a refusal: its Trustee error type name (<c>PolicyDenied</c>,
/// <c>AttestationFailed</c>, …) and detail, or the bare HTTP status when it sent no Trustee error body.</summary>
public sealed class KbsRefusedException(string step, HttpStatusCode status, string name, string detail)
    : Exception($"kbs refused: {name}: {detail}")
{
    /// <summary><c>auth</c>, <c>attest</c> or <c>resource</c>.</summary>
    public string Step { get; } = step;
    public HttpStatusCode Status { get; } = status;

    /// <summary>The last segment of the Trustee error type, e.g. <c>PolicyDenied</c>.</summary>
    public string Name { get; } = name;
    public string Detail { get; } = detail;
}

/// <summary>The client refused what the broker sent (a JWE that does not open or was modified, a challenge without a
/// session cookie, an answer that is not the protocol's JSON); the message names what and why.</summary>
public sealed class KbsProtocolException(string message, Exception? inner = null) : Exception(message, inner);

using Microsoft.AspNetCore.Http;

namespace TrustLaunch.Kbs.Protocol;

/// <summary>
/// A refusal in Trustee's error shape: <c>{"type":"https://github.com/confidential-containers/kbs/errors/NAME",
/// "detail":"…"}</c> with the HTTP status Trustee answers it with. The detail names the reason, never a secret.
/// </summary>
public sealed class KbsError(int status, string name, string detail) : Exception(detail)
{
    public const string TypePrefix = "https://github.com/confidential-containers/kbs/errors/";

    public int Status { get; } = status;
    public string Name { get; } = name;
    public string Type => TypePrefix + Name;

    public KbsErrorBody ToBody() => new(Type, Message);

    public static KbsError ProtocolVersion(string version) =>
        new(StatusCodes.Status401Unauthorized, KbsErrorNames.ProtocolVersion, $"KBS Client Protocol Version Mismatch: the broker speaks {KbsProtocolVersion.Current}, the client {version}");

    public static KbsError InvalidRequest(string detail) => new(StatusCodes.Status400BadRequest, KbsErrorNames.InvalidRequest, detail);

    public static KbsError MissingCookie() => new(StatusCodes.Status401Unauthorized, KbsErrorNames.MissingCookie, "no kbs-session-id cookie: call /kbs/v0/auth first");

    public static KbsError InvalidCookie() => new(StatusCodes.Status401Unauthorized, KbsErrorNames.InvalidCookie, "the kbs-session-id cookie names no session of this broker");

    public static KbsError ExpiredCookie() => new(StatusCodes.Status401Unauthorized, KbsErrorNames.ExpiredCookie, "the session has expired: call /kbs/v0/auth again");

    public static KbsError AttestationFailed(string detail) => new(StatusCodes.Status401Unauthorized, KbsErrorNames.AttestationFailed, detail);

    public static KbsError TokenNotFound() =>
        new(StatusCodes.Status401Unauthorized, KbsErrorNames.TokenNotFound, "no kbs-session-id cookie and no Authorization: Bearer token: attest first");

    public static KbsError UnauthenticatedCookie() =>
        new(StatusCodes.Status401Unauthorized, KbsErrorNames.UnAuthenticatedCookie, "the session has not attested: POST /kbs/v0/attest first");

    public static KbsError InvalidToken(string detail) => new(StatusCodes.Status401Unauthorized, KbsErrorNames.InvalidToken, $"the bearer token is refused: {detail}");

    public static KbsError PolicyDeny(string detail) => new(StatusCodes.Status403Forbidden, KbsErrorNames.PolicyDeny, detail);

    public static KbsError ResourceNotFound(string path) => new(StatusCodes.Status404NotFound, KbsErrorNames.ResourceNotFound, $"no resource {path}");

    /// <summary>A stored resource that does not open (altered, or its wrapping key is not this broker's).</summary>
    public static KbsError Internal(string detail) => new(StatusCodes.Status500InternalServerError, KbsErrorNames.InternalError, detail);

    /// <summary>The broker could not decide (registrar or verifier unreachable or refusing it): refused, 503.</summary>
    public static KbsError Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, KbsErrorNames.ServiceUnavailable, detail);
}

public static class KbsProtocolVersion
{
    /// <summary>The one protocol version the broker speaks; clients must match it exactly.</summary>
    public const string Current = "0.4.0";
}

/// <summary>The error names (the last segment of <see cref="KbsError.Type"/>) the broker answers with, shared by the
/// broker and its clients.</summary>
public static class KbsErrorNames
{
    public const string ProtocolVersion = "ProtocolVersion";
    public const string InvalidRequest = "InvalidRequest";
    public const string MissingCookie = "MissingCookie";
    public const string InvalidCookie = "InvalidCookie";
    public const string ExpiredCookie = "ExpiredCookie";
    public const string AttestationFailed = "AttestationFailed";
    public const string TokenNotFound = "TokenNotFound";
    public const string UnAuthenticatedCookie = "UnAuthenticatedCookie";
    public const string InvalidToken = "InvalidToken";
    public const string PolicyDeny = "PolicyDeny";
    public const string ResourceNotFound = "ResourceNotFound";
    public const string InternalError = "InternalError";
    public const string ServiceUnavailable = "ServiceUnavailable";

    /// <summary>The detail of an attestation whose report_data does not bind the session's nonce and tee-pubkey.</summary>
    public const string NotBoundDetail =
        "report_data is not SHA-384 of the canonical {additional-evidence, nonce, tee-pubkey}: the evidence does not bind this session's nonce and tee-pubkey";
}

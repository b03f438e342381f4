using TrustLaunch.Measurement;

namespace TrustLaunch.Hosting.Contracts;

// Agent wire format. Attestation port (9002, mTLS):
//   GET /v1/quote?nonce=HEX&pcrs=10,11&since=N -> QuoteEvidence | 503 problem of type ProblemTypes.LogPcrDisagree (why)
//   GET /v1/info                               -> AgentInfo
// Local unix socket (the launcher; file mode 0600):
//   POST /v1/measure   MeasureRequest -> MeasuredEvent
//   GET  /v1/log?since=N              -> CelRecord[]

/// <summary>Problem types (RFC 7807 <c>type</c>) that tell a client more than the status does.</summary>
public static class ProblemTypes
{
    /// <summary>
    /// An agent's launch log and launch PCR disagree (the PCR was extended outside the log, or the log lost records):
    /// answered with 503 like an outage, but it is a verdict, not a passing fault.
    /// </summary>
    public const string LogPcrDisagree = "urn:trustlaunch:problem:log-pcr-disagree";
}

/// <summary>One PCR value of a quote, in selection order: bank (<c>sha256</c>), index and lowercase hex value.</summary>
public sealed record PcrValue(string Bank, int Index, string Value);

/// <summary>
/// A quote and the log entries since <c>EventsFrom</c>. Only <c>Quoted</c> and <c>Signature</c> are signed: the
/// verifier recomputes the PCR digest from <c>Pcrs</c> and replays <c>Events</c>; <c>ResetCount</c>,
/// <c>RestartCount</c> and <c>BootCount</c> are conveniences to be checked against the signed TPMS_ATTEST.
/// <c>GoldenValues</c> holds, by their <c>golden</c> digest, the golden value JWS of every <c>ImageVerified</c> among
/// <c>Events</c>, for the verifier to check itself.
/// </summary>
public sealed record QuoteEvidence(
    string AgentId,
    byte[] Quoted,
    byte[] Signature,
    IReadOnlyList<PcrValue> Pcrs,
    int LaunchPcr,
    long EventsFrom,
    IReadOnlyList<CelRecord> Events,
    long LogLength,
    uint ResetCount,
    uint RestartCount,
    long BootCount,
    IReadOnlyDictionary<string, string>? GoldenValues = null);

/// <summary>What an agent says about itself.</summary>
public sealed record AgentInfo(
    string AgentId,
    byte[] AkPublic,
    byte[] EkPublic,
    int LaunchPcr,
    long LogLength,
    bool Ready,
    string? NotReadyReason,
    string Version);

/// <summary>
/// An event to measure: the operation (<see cref="LaunchEvents"/>) and its content as a JSON object. An
/// <c>ImageVerified</c> carries the golden value it was checked against (<c>GoldenValue</c>, compact JWS), whose
/// SHA-256 its content names as <c>golden</c>; the agent keeps it and hands it to verifiers with the event.
/// </summary>
public sealed record MeasureRequest(string Operation, System.Text.Json.JsonElement Content, string? GoldenValue = null);

/// <summary>The committed record and the PCR value after the extend (lowercase hex).</summary>
public sealed record MeasuredEvent(CelRecord Record, string PcrValue);

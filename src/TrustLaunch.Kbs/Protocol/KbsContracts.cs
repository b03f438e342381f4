using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Kbs.Protocol;

/// <summary><c>POST /kbs/v0/auth</c> body (kbs-types <c>Request</c>).</summary>
public sealed record KbsAuthRequest(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("tee")] string Tee,
    [property: JsonPropertyName("extra-params")] JsonElement? ExtraParams = null);

/// <summary>The challenge: a base64 nonce; <c>extra-params</c> is the empty string Trustee sends.</summary>
public sealed record KbsChallenge(
    [property: JsonPropertyName("nonce")] string Nonce,
    [property: JsonPropertyName("extra-params")] string ExtraParams);

/// <summary><c>POST /kbs/v0/attest</c> body (kbs-types <c>Attestation</c>). The runtime data is kept as sent: its
/// canonical JSON is what report_data binds.</summary>
public sealed record KbsAttestation(
    [property: JsonPropertyName("runtime-data")] KbsRuntimeData RuntimeData,
    [property: JsonPropertyName("tee-evidence")] KbsTeeEvidence TeeEvidence,
    [property: JsonPropertyName("init-data")] JsonElement? InitData = null);

public sealed record KbsRuntimeData(
    [property: JsonPropertyName("nonce")] string Nonce,
    [property: JsonPropertyName("tee-pubkey")] JsonElement TeePubkey);

public sealed record KbsTeeEvidence(
    [property: JsonPropertyName("primary_evidence")] JsonElement PrimaryEvidence,
    [property: JsonPropertyName("additional_evidence")] string? AdditionalEvidence = null);

/// <summary>Trustee's TPM evidence (attester <c>tpm</c>).</summary>
public sealed record TpmEvidence(
    [property: JsonPropertyName("report_data")] string ReportData,
    [property: JsonPropertyName("ak_public")] string AkPublic,
    [property: JsonPropertyName("tpm_quote")] TpmQuoteEvidence TpmQuote);

public sealed record TpmQuoteEvidence(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("signature")] string Signature,
    [property: JsonPropertyName("pcrs")] IReadOnlyList<string> Pcrs);

public sealed record KbsAttestationToken([property: JsonPropertyName("token")] string Token);

/// <summary>Trustee's error body.</summary>
public sealed record KbsErrorBody(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("detail")] string Detail);

/// <summary>Strict source-generated JSON for the KBS protocol: missing required members and nulls for
/// non-nullable ones are refused naming the member.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(KbsAuthRequest))]
[JsonSerializable(typeof(KbsChallenge))]
[JsonSerializable(typeof(KbsAttestation))]
[JsonSerializable(typeof(TpmEvidence))]
[JsonSerializable(typeof(KbsAttestationToken))]
[JsonSerializable(typeof(KbsErrorBody))]
public sealed partial class KbsJsonContext : JsonSerializerContext;

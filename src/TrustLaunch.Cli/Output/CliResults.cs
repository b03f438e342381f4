using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Cli.Output;

public sealed record InfoResult(
    string Manufacturer,
    string VendorString,
    string FirmwareVersion,
    string SpecVersion,
    IReadOnlyList<string> Algorithms,
    IReadOnlyList<string> EccCurves,
    IReadOnlyDictionary<string, IReadOnlyList<int>> PcrBanks);

/// <summary>Bank name → PCR index (as a string, JSON keys are strings) → value in hex.</summary>
public sealed record PcrsResult(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Banks);

public sealed record CertificateResult(string NvIndex, string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter);

public sealed record EkResult(
    string Type,
    string Name,
    string PublicPem,
    CertificateResult? Certificate,
    string? OutPublic,
    string? OutCertificate);

public sealed record AkCreateResult(string Handle, string Type, string Name, string PublicFile, string Format);

public sealed record AkEvictResult(string Handle);

public sealed record QuoteResult(
    string Ak,
    string Nonce,
    string Pcrs,
    string PcrDigest,
    string Message,
    string Signature,
    string PcrValues,
    int Attempts,
    string? MessageFile,
    string? SignatureFile,
    string? PcrValuesFile);

public sealed record ActivateCredentialResult(string Secret, string? OutFile);

public sealed record VerifyQuoteResult(bool Valid, string Reason, string? Pcrs, ulong? Clock, uint? ResetCount, uint? RestartCount);

public sealed record MakeCredentialResult(string EkName, string OutFile);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(InfoResult))]
[JsonSerializable(typeof(PcrsResult))]
[JsonSerializable(typeof(EkResult))]
[JsonSerializable(typeof(AkCreateResult))]
[JsonSerializable(typeof(AkEvictResult))]
[JsonSerializable(typeof(QuoteResult))]
[JsonSerializable(typeof(ActivateCredentialResult))]
[JsonSerializable(typeof(VerifyQuoteResult))]
[JsonSerializable(typeof(MakeCredentialResult))]
public sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>The options above, but without escaping '+' and other HTML-sensitive characters: the output is for
    /// terminals and scripts, never embedded in HTML. (Built explicitly: <see cref="Default"/> may not be initialized yet.)</summary>
    public static CliJsonContext Output { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

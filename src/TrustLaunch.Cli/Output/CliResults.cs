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

public sealed record PullResult(string Reference, string ManifestDigest, string MediaType, string? IndexDigest, int Layers, long Size);

public sealed record ImageListEntry(string Reference, string ManifestDigest, long? Size, DateTimeOffset Pulled);

public sealed record ImageListResult(IReadOnlyList<ImageListEntry> Images);

public sealed record InspectLayer(string Digest, string MediaType, long Size, string? DiffId, bool Encrypted);

public sealed record InspectResult(
    string Reference,
    string ManifestDigest,
    string MediaType,
    string? IndexDigest,
    DateTimeOffset Pulled,
    string ConfigDigest,
    string? Os,
    string? Architecture,
    DateTimeOffset? Created,
    IReadOnlyList<string>? Entrypoint,
    IReadOnlyList<string>? Cmd,
    IReadOnlyList<string>? Env,
    string? WorkingDir,
    string? User,
    long Size,
    IReadOnlyList<InspectLayer> Layers);

public sealed record RemoveResult(string Reference, string ManifestDigest);

public sealed record GcResult(long BytesFreed, int BlobsRemoved, int IngestFilesRemoved, IReadOnlyList<TrustLaunch.Agent.Launcher.RemovedSnapshot> SnapshotsRemoved);

public sealed record UnpackResult(string Reference, string ManifestDigest, string Bundle, string Rootfs, string RootfsDigest, string ConfigDigest,
    int XattrsSkipped = 0, int XattrsNotApplied = 0);

public sealed record RootfsDigestResult(string Directory, string Digest);

public sealed record EncryptedLayer(string PlainDigest, string EncryptedDigest, string MediaType, long Size);

public sealed record EncryptResult(string Source, string Destination, string ManifestDigest, int Recipients, IReadOnlyList<EncryptedLayer> Layers);

public sealed record GoldenPublishResult(
    string Reference,
    string ManifestDigest,
    string Tag,
    string ArtifactDigest,
    string KeyId,
    string Algorithm,
    string RootfsDigest,
    DateTimeOffset Created,
    DateTimeOffset Expires);

/// <summary><c>golden countersign</c>: the key that signed now, every signer the golden value now holds (publisher
/// first), and the SHA-256 of the new JWS (what <c>ImageVerified</c>'s <c>golden</c> and <c>revoked</c> name).</summary>
public sealed record GoldenCountersignResult(
    string Reference,
    string ManifestDigest,
    string Tag,
    string ArtifactDigest,
    string KeyId,
    string Algorithm,
    string Golden,
    IReadOnlyList<string> Signers);

public sealed record GoldenValueFields(
    string Reference,
    string ManifestDigest,
    string ConfigDigest,
    IReadOnlyList<string> Layers,
    IReadOnlyList<string> DiffIds,
    string RootfsDigest,
    DateTimeOffset Created,
    DateTimeOffset Expires,
    string PublisherKeyId);

/// <summary><c>golden show</c>: the payload as found, never trusted (<see cref="Verified"/> is always false).</summary>
/// <param name="Payload">The SHA-256 of the signed payload: what a trust policy's <c>revoked</c> lists to withdraw this golden value however it is signed.</param>
public sealed record GoldenShowResult(bool Verified, string Tag, string Algorithm, string? KeyId, GoldenValueFields Value, IReadOnlyList<string?> Signers, string Payload);

public sealed record GoldenVerifyResult(
    bool Verified,
    string? Reason,
    string Reference,
    string? ManifestDigest,
    string? PublisherKeyId,
    DateTimeOffset? Expires,
    string? RootfsDigest,
    IReadOnlyList<string>? Signers = null);

public sealed record HsmInfoResult(string Module, string Manufacturer, string Description, string LibraryVersion, string CryptokiVersion, IReadOnlyList<string> Tokens, string? Spy);

public sealed record HsmSlotResult(ulong SlotId, string Description, string? Label, string? Manufacturer, string? Model, string? Serial, bool Initialized, bool UserPinInitialized, bool UserPinLocked);

public sealed record HsmSlotsResult(IReadOnlyList<HsmSlotResult> Slots);

public sealed record HsmMechanismResult(string Name, ulong MinKeySize, ulong MaxKeySize, IReadOnlyList<string> Flags);

public sealed record HsmMechanismsResult(string Token, IReadOnlyList<HsmMechanismResult> Mechanisms);

public sealed record HsmKeyResult(string Uri, string Label, string Id, string Class, string KeyType, int? Bits, bool? Sensitive, bool? Extractable, IReadOnlyList<string> Usage);

public sealed record HsmKeysResult(string Token, bool LoggedIn, IReadOnlyList<HsmKeyResult> Keys);

public sealed record HsmKeygenResult(string Uri, string Type, string Label, string Id, bool Extractable, string? KeyId, string? PublicKeyPem);

public sealed record HsmSignResult(string Key, string Algorithm, string Format, string Signature, string? OutFile);

public sealed record HsmVerifyResult(bool Valid, string Reason);

/// <summary>encrypt / decrypt / wrap: the bytes in hex, or where they were written.</summary>
public sealed record HsmDataResult(string Key, string Mechanism, int Bytes, string? Data, string? OutFile);

public sealed record HsmExportResult(string Uri, string Format, string KeyId, string Key, string? OutFile);

public sealed record HsmDeleteResult(string Key, int Deleted);

public sealed record HsmRandomResult(string Bytes);

public sealed record HsmInitTokenResult(string Label, ulong? SlotId, bool UserPinSet);
public sealed record HsmBenchmarkRowResult(string Operation, int Iterations, double OpsPerSecond, double BareOpsPerSecond, double Ratio);

public sealed record HsmBenchmarkResult(IReadOnlyList<HsmBenchmarkRowResult> Sign, long? AnalyzeBytes, long? AnalyzeCalls, double? AnalyzeMegabytesPerSecond);

/// <summary>
/// One attestation result as <c>trustlaunch results</c> shows it: what its signed token claims (status, policy, reason,
/// event), never the store's unsigned columns, and whether the token's signature verifies (<c>signature</c> is
/// <c>valid</c>, or <c>INVALID: why</c>).
/// </summary>
public sealed record ResultView(long Id, DateTimeOffset At, string Signature, string? Status, string? PolicyId, string? Reason, long? EventIndex,
    long LogLength, string? InstanceId, string Token)
{
    public const string Valid = "valid";
}

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
[JsonSerializable(typeof(PullResult))]
[JsonSerializable(typeof(ImageListResult))]
[JsonSerializable(typeof(InspectResult))]
[JsonSerializable(typeof(RemoveResult))]
[JsonSerializable(typeof(GcResult))]
[JsonSerializable(typeof(UnpackResult))]
[JsonSerializable(typeof(RootfsDigestResult))]
[JsonSerializable(typeof(EncryptResult))]
[JsonSerializable(typeof(GoldenPublishResult))]
[JsonSerializable(typeof(GoldenShowResult))]
[JsonSerializable(typeof(GoldenCountersignResult))]
[JsonSerializable(typeof(GoldenVerifyResult))]
[JsonSerializable(typeof(HsmInfoResult))]
[JsonSerializable(typeof(HsmSlotsResult))]
[JsonSerializable(typeof(HsmMechanismsResult))]
[JsonSerializable(typeof(HsmKeysResult))]
[JsonSerializable(typeof(HsmKeygenResult))]
[JsonSerializable(typeof(HsmSignResult))]
[JsonSerializable(typeof(HsmVerifyResult))]
[JsonSerializable(typeof(HsmDataResult))]
[JsonSerializable(typeof(HsmExportResult))]
[JsonSerializable(typeof(HsmDeleteResult))]
[JsonSerializable(typeof(HsmRandomResult))]
[JsonSerializable(typeof(HsmInitTokenResult))]
[JsonSerializable(typeof(TrustLaunch.Hsm.Spy.SpyReport))]
[JsonSerializable(typeof(HsmBenchmarkResult))]
[JsonSerializable(typeof(TrustLaunch.Cli.Commands.Containers.ContainerView))]
[JsonSerializable(typeof(List<TrustLaunch.Cli.Commands.Containers.ContainerView>))]
[JsonSerializable(typeof(IReadOnlyList<ResultView>))]
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

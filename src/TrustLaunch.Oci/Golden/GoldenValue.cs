using System.Globalization;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Golden;

/// <summary>
/// The signed reference measurement of one image manifest: what a node must find before it launches the image.
/// Serialized as RFC 8785 canonical JSON, which is the payload of a compact JWS (<see cref="Sign"/>).
/// </summary>
public sealed record GoldenValue
{
    public const int CurrentVersion = 1;

    /// <summary>The JWS <c>typ</c> and the artifact layer media type.</summary>
    public const string JwsType = "application/vnd.trustlaunch.golden.v1+jws";

    public required string Reference { get; init; }
    public required Digest ManifestDigest { get; init; }
    public required Digest ConfigDigest { get; init; }
    public required IReadOnlyList<Digest> LayerDigests { get; init; }
    public required IReadOnlyList<Digest> DiffIds { get; init; }
    public required Digest RootfsDigest { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset Expires { get; init; }

    /// <summary>Key id of the publisher key; <see cref="Sign"/> sets it from the signer.</summary>
    public string PublisherKeyId { get; init; } = "";

    /// <summary>The canonical JSON payload.</summary>
    public byte[] ToCanonicalJson() => CanonicalJson.Serialize(new CanonicalJson.Object
    {
        ["version"] = CurrentVersion,
        ["reference"] = Reference,
        ["manifest_digest"] = ManifestDigest.ToString(),
        ["config_digest"] = ConfigDigest.ToString(),
        ["layers"] = LayerDigests.Select(d => d.ToString()).ToList(),
        ["diff_ids"] = DiffIds.Select(d => d.ToString()).ToList(),
        ["rootfs_digest"] = RootfsDigest.ToString(),
        ["created"] = FormatTime(Created),
        ["expires"] = FormatTime(Expires),
        ["publisher_kid"] = PublisherKeyId,
    });

    /// <summary>Signs this value (with <see cref="PublisherKeyId"/> set to the signer's key id) as a compact JWS.</summary>
    public string Sign(IPayloadSigner signer)
    {
        if (LayerDigests.Count != DiffIds.Count)
            throw new InvalidOperationException($"golden value has {LayerDigests.Count} layers but {DiffIds.Count} diff_ids");
        if (Expires <= Created)
            throw new InvalidOperationException($"golden value expires ({FormatTime(Expires)}) before it is created ({FormatTime(Created)})");
        var value = this with { PublisherKeyId = signer.KeyId };
        return Jws.SignCompact(value.ToCanonicalJson(), signer, JwsType);
    }

    /// <summary>What <c>ImageVerified</c>'s <c>golden</c> names a golden value by: <c>sha256:</c> and the lowercase hex
    /// SHA-256 of its compact JWS (ASCII).</summary>
    public static string JwsDigest(string jws)
    {
        ArgumentNullException.ThrowIfNull(jws);
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(jws)));
    }

    /// <summary>Parses a canonical JSON payload strictly: every member present with the right type, no unknown
    /// member, and the bytes exactly the canonical form (so one golden value has one signed encoding).</summary>
    /// <exception cref="FormatException">With the reason, e.g. "member 'layers' is missing".</exception>
    public static GoldenValue ParsePayload(ReadOnlySpan<byte> json)
    {
        GoldenValue value;
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new FormatException("payload is not a JSON object");
            string[] known = ["version", "reference", "manifest_digest", "config_digest", "layers", "diff_ids", "rootfs_digest", "created", "expires", "publisher_kid"];
            foreach (var p in root.EnumerateObject())
            {
                if (!known.Contains(p.Name, StringComparer.Ordinal))
                    throw new FormatException($"unknown member '{p.Name}'");
            }
            var version = Get(root, "version", JsonValueKind.Number);
            if (!version.TryGetInt32(out var v) || v != CurrentVersion)
                throw new FormatException($"version {version.GetRawText()} is not {CurrentVersion}");
            value = new GoldenValue
            {
                Reference = Get(root, "reference", JsonValueKind.String).GetString()!,
                ManifestDigest = ParseDigest(root, "manifest_digest"),
                ConfigDigest = ParseDigest(root, "config_digest"),
                LayerDigests = ParseDigests(root, "layers"),
                DiffIds = ParseDigests(root, "diff_ids"),
                RootfsDigest = ParseDigest(root, "rootfs_digest"),
                Created = ParseTime(root, "created"),
                Expires = ParseTime(root, "expires"),
                PublisherKeyId = Get(root, "publisher_kid", JsonValueKind.String).GetString()!,
            };
        }
        catch (JsonException e)
        {
            throw new FormatException($"payload is not JSON: {e.Message}");
        }
        if (value.LayerDigests.Count != value.DiffIds.Count)
            throw new FormatException($"{value.LayerDigests.Count} layers but {value.DiffIds.Count} diff_ids");
        if (!json.SequenceEqual(value.ToCanonicalJson()))
            throw new FormatException("payload is not in RFC 8785 canonical form");
        return value;
    }

    /// <summary>
    /// Compares an image against this golden value and names the first difference, or returns null when they match.
    /// Order: manifest, config, layer count, each layer digest, each diff_id, rootfs tree digest (skipped when
    /// <see cref="ObservedImage.RootfsDigest"/> is null, i.e. before unpacking — compare again after).
    /// </summary>
    public string? FindMismatch(ObservedImage image)
    {
        if (image.ManifestDigest != ManifestDigest)
            return $"manifest digest mismatch: golden value is for {ManifestDigest}, image is {image.ManifestDigest}";
        if (image.ConfigDigest != ConfigDigest)
            return $"config digest mismatch: golden value has {ConfigDigest}, image has {image.ConfigDigest}";
        if (image.LayerDigests.Count != LayerDigests.Count)
            return $"layer count mismatch: golden value has {LayerDigests.Count}, image has {image.LayerDigests.Count}";
        for (var i = 0; i < LayerDigests.Count; i++)
        {
            if (image.LayerDigests[i] != LayerDigests[i])
                return $"layer {i} digest mismatch: golden value has {LayerDigests[i]}, image has {image.LayerDigests[i]}";
        }
        if (image.DiffIds.Count != DiffIds.Count)
            return $"diff_id count mismatch: golden value has {DiffIds.Count}, image has {image.DiffIds.Count}";
        for (var i = 0; i < DiffIds.Count; i++)
        {
            if (image.DiffIds[i] != DiffIds[i])
                return $"layer {i} diff_id mismatch: golden value has {DiffIds[i]}, image has {image.DiffIds[i]}";
        }
        if (image.RootfsDigest is { } rootfs && rootfs != RootfsDigest)
            return $"rootfs digest mismatch: golden value has {RootfsDigest}, unpacked rootfs has {rootfs}";
        return null;
    }

    internal static string FormatTime(DateTimeOffset t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static JsonElement Get(JsonElement root, string name, JsonValueKind kind) =>
        !root.TryGetProperty(name, out var e) ? throw new FormatException($"member '{name}' is missing")
        : e.ValueKind != kind ? throw new FormatException($"member '{name}' is {e.ValueKind}, expected {kind}")
        : e;

    private static Digest ParseDigest(JsonElement root, string name) =>
        Digest.TryParse(Get(root, name, JsonValueKind.String).GetString(), out var d, out var error) ? d : throw new FormatException($"member '{name}': {error}");

    private static List<Digest> ParseDigests(JsonElement root, string name) =>
        Get(root, name, JsonValueKind.Array).EnumerateArray().Select((e, i) =>
            e.ValueKind == JsonValueKind.String && Digest.TryParse(e.GetString(), out var d, out var error) ? d
            : throw new FormatException($"member '{name}'[{i}] is not a digest")).ToList();

    private static DateTimeOffset ParseTime(JsonElement root, string name) =>
        DateTimeOffset.TryParseExact(Get(root, name, JsonValueKind.String).GetString(), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw new FormatException($"member '{name}' is not a UTC time like 2026-01-31T12:00:00Z");
}

/// <summary>What a node measured of an image, to compare with a golden value.</summary>
public sealed record ObservedImage(
    Digest ManifestDigest,
    Digest ConfigDigest,
    IReadOnlyList<Digest> LayerDigests,
    IReadOnlyList<Digest> DiffIds,
    Digest? RootfsDigest = null);

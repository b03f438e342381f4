using System.Globalization;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Golden;

/// <summary>
/// Where golden values may come from and which are withdrawn, beyond the publisher keys: by default a golden value
/// must name the registry host and repository of the image it is used for (its signed <c>reference</c>); a rule per
/// repository may accept golden values published for other repositories (a mirror) and set the oldest issue time
/// still accepted (rollback to an older golden value); <c>revoked</c> lists golden values never accepted again, by the
/// SHA-256 of their payload (<c>golden show</c> prints it as <c>payload:</c>), however they are signed. Entries of the
/// older form, the SHA-256 of a JWS or of one of its signatures as a compact JWS, are still matched.
/// </summary>
/// <remarks>
/// The file (<c>trustlaunch run --trust-policy FILE</c>), every member optional:
/// <code>
/// {
///   "repositories": {
///     "mirror.example:5000/team/app": { "golden_from": ["registry.example/team/app"], "min_created": "2026-01-31T00:00:00Z" },
///     "registry.example/team/db": { "all_of": ["PUBLISHER-KID", "STORE-KID"], "any_of": ["AUDITOR-1-KID", "AUDITOR-2-KID"] }
///   },
///   "revoked": ["sha256:…"]
/// }
/// </code>
/// Repository keys and <c>golden_from</c> entries are <c>HOST[:PORT]/REPOSITORY</c>, without tag or digest, normalized as
/// image references are (<c>busybox</c> is <c>docker.io/library/busybox</c>). <c>all_of</c> / <c>any_of</c> name signer
/// keys by key id; the keys themselves are the trusted keys (<c>run --trust</c>, the verifier policy's
/// <c>trusted_publishers</c>).
/// </remarks>
public sealed record GoldenTrustPolicy
{
    public static GoldenTrustPolicy Default { get; } = new();

    public IReadOnlyDictionary<string, RepositoryRule> Repositories { get; init; } = new Dictionary<string, RepositoryRule>();

    public IReadOnlySet<Digest> Revoked { get; init; } = new HashSet<Digest>();

    /// <summary>What one repository accepts besides its own golden values, and whose signatures it needs: every key of
    /// <see cref="AllOf"/>, and one key of <see cref="AnyOf"/> when that is not empty (key ids, RFC 7638 thumbprints).</summary>
    public sealed record RepositoryRule(IReadOnlyList<string> GoldenFrom, DateTimeOffset? MinCreated, IReadOnlyList<string> AllOf, IReadOnlyList<string> AnyOf)
    {
        public RepositoryRule(IReadOnlyList<string> goldenFrom, DateTimeOffset? minCreated)
            : this(goldenFrom, minCreated, [], [])
        {
        }
    }

    /// <summary>
    /// Refuses a (signature-verified) golden value for <paramref name="image"/> with the exact reason, or returns null:
    /// revoked, published for another repository that no rule allows, older than the repository's minimum, or missing
    /// a signature the repository's rule requires (<c>missing signature by KID</c>). Only
    /// <see cref="GoldenVerification.Signers"/> count: a signature by a key that is not trusted was never checked.
    /// </summary>
    public string? FindRefusal(GoldenVerification verification, ImageReference image)
    {
        ArgumentNullException.ThrowIfNull(verification);
        ArgumentNullException.ThrowIfNull(image);
        var value = verification.Value ?? throw new ArgumentException("the golden value was not verified", nameof(verification));
        var golden = verification.Golden!.Value;
        if (Revoked.Contains(verification.Payload!.Value))
            return $"golden value {golden} is revoked by the trust policy: its payload {verification.Payload} is revoked";
        if (Revoked.Contains(golden))
            return $"golden value {golden} is revoked by the trust policy";
        if (verification.Digests.Where(Revoked.Contains).Select(d => (Digest?)d).FirstOrDefault() is { } signature)
            return $"golden value {golden} is revoked by the trust policy: it holds the signature of revoked golden value {signature}";
        if (!ImageReference.TryParse(value.Reference, out var published, out var error))
            return $"golden value reference '{value.Reference}' is not an image reference: {error}";
        var rule = Repositories.GetValueOrDefault(image.Name);
        if (published.Name != image.Name && rule?.GoldenFrom.Contains(published.Name, StringComparer.Ordinal) != true)
            return $"golden value was published for {published.Name}, not {image.Name} (a trust policy may allow it: repositories.\"{image.Name}\".golden_from)";
        if (rule?.MinCreated is { } min && value.Created < min)
            return $"golden value created {GoldenValue.FormatTime(value.Created)} is older than {GoldenValue.FormatTime(min)}, the oldest the trust policy accepts for {image.Name}";
        if (rule is null)
            return null;
        var signers = verification.Signers;
        if (rule.AllOf.FirstOrDefault(k => !signers.Contains(k, StringComparer.Ordinal)) is { } required)
            return $"missing signature by {required}, which the trust policy requires for {image.Name} (all_of)";
        if (rule.AnyOf.Count > 0 && !rule.AnyOf.Any(k => signers.Contains(k, StringComparer.Ordinal)))
            return $"missing signature by any of {string.Join(", ", rule.AnyOf)}, one of which the trust policy requires for {image.Name} (any_of)";
        return null;
    }

    /// <summary>
    /// The first key that an <c>all_of</c> or <c>any_of</c> names and <paramref name="trustedKeyIds"/> does not hold, as a
    /// problem sentence, or null: a signature by a key that is not trusted is never checked, so such an <c>all_of</c>
    /// could never be met and such an <c>any_of</c> entry would only look like a choice.
    /// </summary>
    public string? FindUntrustedSigner(IReadOnlyCollection<string> trustedKeyIds)
    {
        ArgumentNullException.ThrowIfNull(trustedKeyIds);
        foreach (var (name, rule) in Repositories)
        {
            foreach (var (member, keys) in new[] { ("all_of", rule.AllOf), ("any_of", rule.AnyOf) })
            {
                if (keys.FirstOrDefault(k => !trustedKeyIds.Contains(k, StringComparer.Ordinal)) is { } untrusted)
                    return $"repositories.\"{name}\".{member}: key {untrusted} is not one of the trusted publisher keys, so no signature by it is ever checked";
            }
        }
        return null;
    }

    /// <summary>Reads a policy file as <see cref="Load(string)"/> does, and refuses signer keys that are not among <paramref name="trustedKeyIds"/> (<see cref="FindUntrustedSigner"/>).</summary>
    /// <exception cref="FormatException">With the file and the reason.</exception>
    public static GoldenTrustPolicy Load(string path, IReadOnlyCollection<string> trustedKeyIds)
    {
        var policy = Load(path);
        return policy.FindUntrustedSigner(trustedKeyIds) is { } problem ? throw new FormatException($"trust policy {path}: {problem}") : policy;
    }

    /// <summary>Reads a policy file strictly: unknown members, wrong types and malformed names or times are refused.</summary>
    /// <exception cref="FormatException">With the file and the reason.</exception>
    public static GoldenTrustPolicy Load(string path)
    {
        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"trust policy {path}: {e.Message}");
        }
    }

    public static GoldenTrustPolicy Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}");
        }
        using (doc)
            return Parse(doc.RootElement);
    }

    /// <summary>The same document already parsed (a verifier policy's <c>golden_trust</c> member).</summary>
    public static GoldenTrustPolicy Parse(JsonElement document)
    {
        var root = Expect(document, JsonValueKind.Object, "the policy");
        var repositories = new Dictionary<string, RepositoryRule>(StringComparer.Ordinal);
        var revoked = new HashSet<Digest>();
        foreach (var member in root.EnumerateObject())
        {
            switch (member.Name)
            {
                case "repositories":
                    foreach (var repository in Expect(member.Value, JsonValueKind.Object, "repositories").EnumerateObject())
                    {
                        var name = RepositoryName(repository.Name, "repositories");
                        if (!repositories.TryAdd(name, ParseRule(repository.Name, repository.Value)))
                            throw new FormatException($"repositories: '{repository.Name}' names {name}, which is listed twice");
                    }
                    break;
                case "revoked":
                    foreach (var entry in Expect(member.Value, JsonValueKind.Array, "revoked").EnumerateArray())
                    {
                        if (entry.ValueKind != JsonValueKind.String || !Digest.TryParse(entry.GetString(), out var digest, out _))
                            throw new FormatException($"revoked entry {entry.GetRawText()} is not a digest");
                        revoked.Add(digest);
                    }
                    break;
                default:
                    throw new FormatException($"unknown member '{member.Name}'");
            }
        }
        return new GoldenTrustPolicy { Repositories = repositories, Revoked = revoked };
    }

    private static RepositoryRule ParseRule(string repository, JsonElement element)
    {
        var what = $"repositories.\"{repository}\"";
        var goldenFrom = new List<string>();
        DateTimeOffset? minCreated = null;
        IReadOnlyList<string> allOf = [], anyOf = [];
        foreach (var member in Expect(element, JsonValueKind.Object, what).EnumerateObject())
        {
            switch (member.Name)
            {
                case "golden_from":
                    foreach (var entry in Expect(member.Value, JsonValueKind.Array, $"{what}.golden_from").EnumerateArray())
                        goldenFrom.Add(RepositoryName(Expect(entry, JsonValueKind.String, $"{what}.golden_from entry").GetString()!, $"{what}.golden_from"));
                    break;
                case "min_created":
                    var text = Expect(member.Value, JsonValueKind.String, $"{what}.min_created").GetString();
                    if (!DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
                            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
                        throw new FormatException($"{what}.min_created '{text}' is not a UTC time like 2026-01-31T12:00:00Z");
                    minCreated = t;
                    break;
                case "all_of":
                    allOf = KeyIds(member.Value, $"{what}.all_of");
                    break;
                case "any_of":
                    anyOf = KeyIds(member.Value, $"{what}.any_of");
                    if (anyOf.Count == 0)
                        throw new FormatException($"{what}.any_of is empty: no signature could satisfy it");
                    break;
                default:
                    throw new FormatException($"unknown member '{member.Name}' in {what}");
            }
        }
        return new RepositoryRule(goldenFrom, minCreated, allOf, anyOf);
    }

    /// <summary>Key ids as JWS <c>kid</c>s name signers: RFC 7638 thumbprints, 43 base64url characters.</summary>
    private static List<string> KeyIds(JsonElement element, string what)
    {
        var keys = new List<string>();
        foreach (var entry in Expect(element, JsonValueKind.Array, what).EnumerateArray())
        {
            var text = Expect(entry, JsonValueKind.String, $"{what} entry").GetString()!;
            if (text.Length != 43 || text.AsSpan().IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >= 0)
                throw new FormatException($"{what}: '{text}' is not a key id (the RFC 7638 thumbprint golden publish prints)");
            if (keys.Contains(text, StringComparer.Ordinal))
                throw new FormatException($"{what}: key {text} is listed twice");
            keys.Add(text);
        }
        return keys;
    }

    /// <summary>A repository name normalized as image references are; a tag or digest is refused.</summary>
    private static string RepositoryName(string text, string what)
    {
        if (!ImageReference.TryParse(text, out var reference, out var error))
            throw new FormatException($"{what}: '{text}' is not a repository: {error}");
        if (reference.Digest is not null || text.EndsWith(":" + reference.Tag, StringComparison.Ordinal))
            throw new FormatException($"{what}: '{text}' names a tag or digest; give HOST/REPOSITORY only");
        return reference.Name;
    }

    private static JsonElement Expect(JsonElement element, JsonValueKind kind, string what) =>
        element.ValueKind == kind ? element : throw new FormatException($"{what} is {element.ValueKind}, expected {kind}");
}

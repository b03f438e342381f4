using System.Text.Json;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Protocol;

/// <summary>
/// Which container of an attested node a handshake is for (its workload gateway asked) and the image manifest digest
/// the node's agent runs it with: Trustee's <c>tee-evidence.additional_evidence</c> holds the canonical JSON
/// <c>{"trustlaunch.container":"ID","trustlaunch.image":"sha256:…"}</c>, which the quote's report data binds like the
/// nonce and tee-pubkey. Empty additional evidence: the node itself. These are the node's measurements, not a
/// verdict: the broker grants only when the verifier saw that container created with that image
/// (<see cref="Policy.ResourceRule.ContainerImages"/>).
/// </summary>
public sealed record ContainerEvidence(string Id, string Image)
{
    public const string IdMember = "trustlaunch.container";
    public const string ImageMember = "trustlaunch.image";
    public const int MaxIdLength = 255;
    private const string Expected = $"additional_evidence is not {{\"{IdMember}\":\"ID\",\"{ImageMember}\":\"sha256:…\"}}";

    public string Encode()
    {
        if (Problem(Id, Image) is { } problem)
            throw new ArgumentException(problem);
        return System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(new CanonicalJson.Object { [IdMember] = Id, [ImageMember] = Image }));
    }

    /// <summary>The container the additional evidence names, or null when it is empty (the node itself).</summary>
    /// <exception cref="KbsError">InvalidRequest: anything else than the two members above.</exception>
    public static ContainerEvidence? Decode(string? additionalEvidence)
    {
        if (string.IsNullOrEmpty(additionalEvidence))
            return null;
        try
        {
            using var document = JsonDocument.Parse(additionalEvidence);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || root.EnumerateObject().Count() != 2
                || !root.TryGetProperty(IdMember, out var id) || id.ValueKind != JsonValueKind.String
                || !root.TryGetProperty(ImageMember, out var image) || image.ValueKind != JsonValueKind.String)
                throw KbsError.InvalidRequest(Expected);
            var evidence = new ContainerEvidence(id.GetString()!, image.GetString()!);
            return Problem(evidence.Id, evidence.Image) is { } problem ? throw KbsError.InvalidRequest($"{Expected}: {problem}") : evidence;
        }
        catch (JsonException)
        {
            throw KbsError.InvalidRequest(Expected);
        }
    }

    private static string? Problem(string id, string image)
    {
        if (id.Length is 0 or > MaxIdLength || id.Any(c => char.IsControl(c) || c == ' '))
            return $"a container id is 1-{MaxIdLength} characters without spaces or control characters";
        return image.Length == 71 && image.StartsWith("sha256:", StringComparison.Ordinal) && !image.AsSpan(7).ContainsAnyExcept("0123456789abcdef")
            ? null
            : "the image is not sha256:<64 lowercase hex>";
    }
}

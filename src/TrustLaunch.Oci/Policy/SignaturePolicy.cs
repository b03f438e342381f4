using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>
/// containers-policy.json (<c>/etc/containers/policy.json</c>, <c>--signature-policy FILE</c>) for the
/// <c>docker</c> transport, as containers/image applies it: the scope for an image is the most specific one that
/// the policy names — the full reference (<c>host/repo:tag</c> or <c>@digest</c>), then the repository and each of its
/// parent namespaces up to the host, then <c>*.domain</c> wildcards of the host from the longest, then the
/// transport's <c>""</c> scope, then <c>default</c>. Every requirement of that scope must hold.
/// </summary>
public sealed partial class SignaturePolicy
{
    public const string DefaultPath = "/etc/containers/policy.json";

    private SignaturePolicy(string path, IReadOnlyList<PolicyRequirement> defaultRequirements,
        IReadOnlyDictionary<string, IReadOnlyList<PolicyRequirement>> dockerScopes)
    {
        Path = path;
        Default = defaultRequirements;
        DockerScopes = dockerScopes;
    }

    public string Path { get; }

    public IReadOnlyList<PolicyRequirement> Default { get; }

    /// <summary><c>transports.docker</c>: scope → requirements.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PolicyRequirement>> DockerScopes { get; }

    /// <summary>The scope that decides for <paramref name="image"/> (<c>docker:NAME</c>, <c>docker:""</c> or <c>default</c>) and its requirements.</summary>
    public (string Scope, IReadOnlyList<PolicyRequirement> Requirements) RequirementsFor(ImageReference image)
    {
        foreach (var scope in ScopesFor(image))
        {
            if (DockerScopes.TryGetValue(scope, out var requirements))
                return ($"docker:{scope}", requirements);
        }
        if (DockerScopes.TryGetValue("", out var transportDefault))
            return ("docker:\"\"", transportDefault);
        return ("default", Default);
    }

    /// <summary>The scopes that may name <paramref name="image"/>, most specific first (containers/image's PolicyConfigurationNamespaces).</summary>
    public static IEnumerable<string> ScopesFor(ImageReference image)
    {
        if (image.Digest is { } digest)
            yield return $"{image.Name}@{digest}";
        else
            yield return $"{image.Name}:{image.Tag}";
        var name = image.Name;
        while (true)
        {
            yield return name;
            var slash = name.LastIndexOf('/');
            if (slash < 0)
                break;
            name = name[..slash];
        }
        var host = image.Registry;
        var colon = host.LastIndexOf(':');
        if (colon >= 0 && !host.EndsWith(']'))
            host = host[..colon];
        for (var dot = host.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = host.IndexOf('.', dot + 1))
            yield return "*" + host[dot..];
    }
}

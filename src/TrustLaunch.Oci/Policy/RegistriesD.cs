using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Registry;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TrustLaunch.Oci.Policy;

/// <summary>Where signatures of one namespace live, from registries.d.</summary>
/// <param name="Lookaside">Base URL of the simple signing store read (file://, http://, https://).</param>
/// <param name="LookasideStaging">Base URL written to (file:// only); defaults to <paramref name="Lookaside"/>.</param>
/// <param name="UseSigstoreAttachments">Whether cosign attachments (<c>sha256-HEX.sig</c>) are read and written.</param>
public sealed record SignatureStorage(Uri Lookaside, Uri? LookasideStaging, bool UseSigstoreAttachments);

/// <summary>
/// registries.d as skopeo reads it: every <c>DIR/*.yaml</c> (default <c>/etc/containers/registries.d</c>), each with
/// <c>default-docker:</c> and <c>docker: {HOST[/REPO]: {lookaside, lookaside-staging, use-sigstore-attachments}}</c>
/// (<c>sigstore</c> / <c>sigstore-staging</c> are the older names of the lookaside keys). The most specific namespace
/// wins, then <c>default-docker</c>, then containers/image's built-in <c>file:///var/lib/containers/sigstore</c>.
/// A namespace given in two files, or an unknown key, is refused.
/// </summary>
public sealed class RegistriesD
{
    public const string DefaultPath = "/etc/containers/registries.d";

    private readonly Dictionary<string, Namespace> _docker;
    private readonly Namespace? _defaultDocker;

    private sealed record Namespace(string? Lookaside, string? LookasideStaging, bool? UseSigstoreAttachments, string File);

    private RegistriesD(Dictionary<string, Namespace> docker, Namespace? defaultDocker)
    {
        _docker = docker;
        _defaultDocker = defaultDocker;
    }

    /// <summary>Reads every *.yaml of <paramref name="directory"/> (default <see cref="DefaultPath"/>, which may be absent).</summary>
    public static RegistriesD Load(string? directory = null)
    {
        var dir = directory ?? DefaultPath;
        if (!Directory.Exists(dir))
            return directory is null ? Parse([]) : throw new DirectoryNotFoundException($"registries.d {dir} does not exist");
        return Parse(Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal).Select(f => (f, File.ReadAllText(f))));
    }

    public static RegistriesD Parse(IEnumerable<(string File, string Yaml)> files)
    {
        var docker = new Dictionary<string, Namespace>(StringComparer.Ordinal);
        Namespace? defaultDocker = null;
        foreach (var (file, yaml) in files)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(yaml));
            }
            catch (YamlException e)
            {
                throw new FormatException($"registries.d {file} is not YAML: {e.Message}");
            }
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
                continue;
            foreach (var (key, value) in Map(stream.Documents[0].RootNode, file, "the document"))
            {
                switch (key)
                {
                    case "default-docker":
                        if (defaultDocker is not null)
                            throw new FormatException($"registries.d {file}: default-docker is also given in {defaultDocker.File}");
                        defaultDocker = ParseNamespace(value, file, key);
                        break;
                    case "docker":
                        foreach (var (name, ns) in Map(value, file, "docker"))
                        {
                            if (docker.TryGetValue(name, out var other))
                                throw new FormatException($"registries.d {file}: docker namespace '{name}' is also given in {other.File}");
                            docker[name] = ParseNamespace(ns, file, $"docker.\"{name}\"");
                        }
                        break;
                    default:
                        throw new FormatException($"registries.d {file}: unknown key '{key}'");
                }
            }
        }
        return new RegistriesD(docker, defaultDocker);
    }

    /// <summary>
    /// The signature storage for <paramref name="image"/>'s repository: each setting from the most specific namespace
    /// that has it (repository, parents, host, then default-docker); writes go to that namespace's staging URL if it has one.
    /// </summary>
    public SignatureStorage For(ImageReference image)
    {
        var chain = new List<Namespace>();
        for (var name = image.Name; ;)
        {
            if (_docker.GetValueOrDefault(name) is { } ns)
                chain.Add(ns);
            var slash = name.LastIndexOf('/');
            if (slash < 0)
                break;
            name = name[..slash];
        }
        if (_defaultDocker is not null)
            chain.Add(_defaultDocker);
        var lookaside = chain.Select(n => n.Lookaside).FirstOrDefault(l => l is not null) ?? BuiltInLookaside();
        var staging = chain.FirstOrDefault(n => n.LookasideStaging is not null || n.Lookaside is not null)?.LookasideStaging;
        var sigstore = chain.Select(n => n.UseSigstoreAttachments).FirstOrDefault(u => u is not null) ?? false;
        return new SignatureStorage(new Uri(lookaside), staging is null ? null : new Uri(staging), sigstore);
    }

    /// <summary>containers/image's default when nothing is configured: root's system store, else the user's.</summary>
    private static string BuiltInLookaside() => Posix.EffectiveUid == 0
        ? "file:///var/lib/containers/sigstore"
        : new Uri(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local/share/containers/sigstore")).ToString();

    private static Namespace ParseNamespace(YamlNode node, string file, string what)
    {
        string? lookaside = null, staging = null;
        bool? sigstore = null;
        foreach (var (key, value) in Map(node, file, what))
        {
            switch (key)
            {
                case "lookaside" or "sigstore":
                    lookaside = Url(Scalar(value, file, $"{what}.{key}"), file, $"{what}.{key}", writable: false);
                    break;
                case "lookaside-staging" or "sigstore-staging":
                    staging = Url(Scalar(value, file, $"{what}.{key}"), file, $"{what}.{key}", writable: true);
                    break;
                case "use-sigstore-attachments":
                    sigstore = Scalar(value, file, $"{what}.{key}") switch
                    {
                        "true" => true,
                        "false" => false,
                        var other => throw new FormatException($"registries.d {file}: {what}.{key} '{other}' is not true or false"),
                    };
                    break;
                default:
                    throw new FormatException($"registries.d {file}: unknown key '{key}' in {what}");
            }
        }
        return new Namespace(lookaside, staging, sigstore, file);
    }

    private static string Url(string text, string file, string what, bool writable)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !(uri.Scheme == Uri.UriSchemeFile || (!writable && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))))
            throw new FormatException($"registries.d {file}: {what} '{text}' is not a {(writable ? "file://" : "file://, http:// or https://")} URL");
        return text.TrimEnd('/');
    }

    private static IEnumerable<(string Key, YamlNode Value)> Map(YamlNode node, string file, string what) =>
        node is YamlMappingNode map
            ? map.Children.Select(c => (Scalar(c.Key, file, $"a key of {what}"), c.Value))
            : node is YamlScalarNode { Value: null or "" } ? [] : throw new FormatException($"registries.d {file}: {what} is not a mapping");

    private static string Scalar(YamlNode node, string file, string what) =>
        node is YamlScalarNode { Value: { } value } ? value : throw new FormatException($"registries.d {file}: {what} is not a scalar");
}

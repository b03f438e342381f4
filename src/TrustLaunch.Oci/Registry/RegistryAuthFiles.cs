using System.Text;
using System.Text.Json;
using TrustLaunch.Oci.Layers;

namespace TrustLaunch.Oci.Registry;

/// <summary>
/// Registry credentials from the auth files podman, skopeo and docker write:
/// <c>{"auths":{"HOST[/REPO…]":{"auth":"base64(user:password)"}}}</c>. Files are searched as containers/image does: a
/// file named by <c>--authfile</c> or <c>$REGISTRY_AUTH_FILE</c> alone; otherwise
/// <c>$XDG_RUNTIME_DIR/containers/auth.json</c> (root: <c>/run/containers/0/auth.json</c>), then
/// <c>~/.docker/config.json</c>. In a file the most specific key wins (<c>host/ns/repo</c>, then <c>host/ns</c>, then
/// <c>host</c>); the first file with a matching key decides. Legacy keys (<c>https://index.docker.io/v1/</c>) match by host.
/// Credential helpers (<c>credHelpers</c>, <c>credsStore</c>) are not run.
/// </summary>
public sealed class RegistryAuthFiles
{
    public const string AuthFileEnvironmentVariable = "REGISTRY_AUTH_FILE";

    private readonly IReadOnlyList<(string Path, IReadOnlyDictionary<string, RegistryCredentials> Entries)> _files;

    private RegistryAuthFiles(IReadOnlyList<(string, IReadOnlyDictionary<string, RegistryCredentials>)> files) => _files = files;

    /// <summary>The files read, in search order (those that exist).</summary>
    public IEnumerable<string> Paths => _files.Select(f => f.Path);

    /// <summary>The default search path, or only <paramref name="authFile"/> (else <c>$REGISTRY_AUTH_FILE</c>) when given.</summary>
    public static IReadOnlyList<string> SearchPath(string? authFile = null)
    {
        var chosen = authFile ?? Environment.GetEnvironmentVariable(AuthFileEnvironmentVariable);
        if (!string.IsNullOrEmpty(chosen))
            return [chosen];
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var containers = string.IsNullOrEmpty(runtime)
            ? $"/run/containers/{Posix.EffectiveUid}/auth.json"
            : Path.Combine(runtime, "containers", "auth.json");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? [containers] : [containers, Path.Combine(home, ".docker", "config.json")];
    }

    /// <summary>Reads the files of <see cref="SearchPath"/>. A file given explicitly must exist; default ones may be absent.</summary>
    /// <exception cref="FormatException">A file that is not an auth file, naming it and the key (never a secret).</exception>
    public static RegistryAuthFiles Load(string? authFile = null)
    {
        var explicitFile = !string.IsNullOrEmpty(authFile ?? Environment.GetEnvironmentVariable(AuthFileEnvironmentVariable));
        var files = new List<(string, IReadOnlyDictionary<string, RegistryCredentials>)>();
        foreach (var path in SearchPath(authFile))
        {
            if (!File.Exists(path))
            {
                if (explicitFile)
                    throw new FileNotFoundException($"auth file {path} does not exist", path);
                continue;
            }
            files.Add((path, Parse(File.ReadAllBytes(path), path)));
        }
        return new RegistryAuthFiles(files);
    }

    public static RegistryAuthFiles FromJson(ReadOnlySpan<byte> json, string name = "auth file") => new([(name, Parse(json, name))]);

    /// <summary>The credentials for <paramref name="reference"/>'s repository, or null for anonymous access.</summary>
    public RegistryCredentials? Find(ImageReference reference)
    {
        foreach (var (_, entries) in _files)
        {
            foreach (var key in CandidateKeys(reference))
            {
                if (entries.TryGetValue(key, out var credentials))
                    return credentials;
            }
        }
        return null;
    }

    /// <summary><c>host/a/b/c</c>, <c>host/a/b</c>, <c>host/a</c>, <c>host</c>: most specific first.</summary>
    private static IEnumerable<string> CandidateKeys(ImageReference reference)
    {
        var key = reference.Name;
        while (true)
        {
            yield return key;
            var slash = key.LastIndexOf('/');
            if (slash < 0)
                yield break;
            key = key[..slash];
        }
    }

    private static Dictionary<string, RegistryCredentials> Parse(ReadOnlySpan<byte> json, string path)
    {
        var entries = new Dictionary<string, RegistryCredentials>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"auth file {path} is not JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException($"auth file {path} is not a JSON object");
            if (!doc.RootElement.TryGetProperty("auths", out var auths))
                return entries;
            if (auths.ValueKind != JsonValueKind.Object)
                throw new FormatException($"auth file {path}: \"auths\" is not an object");
            foreach (var entry in auths.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"auth file {path}: auths.\"{entry.Name}\" is not an object");
                if (!entry.Value.TryGetProperty("auth", out var auth) || auth.ValueKind == JsonValueKind.Null || auth.GetString() is "")
                    continue;
                if (auth.ValueKind != JsonValueKind.String)
                    throw new FormatException($"auth file {path}: auths.\"{entry.Name}\".auth is not a string");
                // The newest entry of the same normalized key wins only if the exact key is absent: exact keys first.
                var key = NormalizeKey(entry.Name);
                var credentials = Decode(auth.GetString()!, path, entry.Name);
                if (key == entry.Name || !entries.ContainsKey(key))
                    entries[key] = credentials;
            }
        }
        return entries;
    }

    /// <summary>Keys as containers/image normalizes them: a URL (<c>https://host/v1/</c>) stands for its host, Docker Hub's aliases for docker.io.</summary>
    private static string NormalizeKey(string key)
    {
        var name = key;
        if (name.StartsWith("http://", StringComparison.Ordinal) || name.StartsWith("https://", StringComparison.Ordinal))
        {
            name = name[(name.IndexOf("://", StringComparison.Ordinal) + 3)..];
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
                name = name[..slash];
        }
        var hostEnd = name.IndexOf('/', StringComparison.Ordinal);
        var host = hostEnd < 0 ? name : name[..hostEnd];
        if (host is "index.docker.io" or "registry-1.docker.io")
            name = ImageReference.DockerHub + (hostEnd < 0 ? "" : name[hostEnd..]);
        return name;
    }

    private static RegistryCredentials Decode(string auth, string path, string key)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(auth);
        }
        catch (FormatException)
        {
            throw new FormatException($"auth file {path}: auths.\"{key}\".auth is not base64");
        }
        var text = Encoding.UTF8.GetString(bytes);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            throw new FormatException($"auth file {path}: auths.\"{key}\".auth is not base64 of user:password");
        return new RegistryCredentials(text[..colon], text[(colon + 1)..].TrimEnd('\n'));
    }
}

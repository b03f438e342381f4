using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace TrustLaunch.Oci.Registry;

/// <summary>One place an image may be read from: the registry itself (its <c>location</c>) or one of its mirrors.</summary>
/// <param name="Reference">The image's reference rewritten to this place (host and repository prefix replaced).</param>
/// <param name="Insecure">Plain http (and, as containers/image allows for insecure registries, no TLS at all).</param>
/// <param name="IsMirror">A mirror, not the registry's own location.</param>
public sealed record RegistrySource(ImageReference Reference, bool Insecure, bool IsMirror);

/// <summary>A pull from a registry that registries.conf blocks.</summary>
public sealed class RegistryBlockedException(string message) : Exception(message);

/// <summary>
/// registries.conf, version 2 (TOML), as containers/image reads it: <c>[[registry]]</c> tables with <c>prefix</c>
/// (<c>host[/path]</c> or <c>*.domain</c>), <c>location</c>, <c>insecure</c>, <c>blocked</c>,
/// <c>mirror-by-digest-only</c>, <c>pull-from-mirror</c> and <c>[[registry.mirror]]</c> entries (<c>location</c>,
/// <c>insecure</c>, <c>pull-from-mirror</c>). The longest matching prefix decides; mirrors are tried in order, then the
/// location. Unknown keys in a registry or mirror table are refused; top-level settings about short names, aliases and
/// credential helpers are accepted and not used (references here are always fully qualified).
/// </summary>
public sealed class RegistriesConf
{
    public const string DefaultPath = "/etc/containers/registries.conf";

    private static readonly HashSet<string> TopLevelKeys = new(StringComparer.Ordinal)
    {
        "registry", "unqualified-search-registries", "short-name-mode", "aliases", "credential-helpers", "additional-layer-store-auth-helper",
    };

    private RegistriesConf(IReadOnlyList<RegistryEntry> entries, string path)
    {
        Entries = entries;
        Path = path;
    }

    public static RegistriesConf Empty { get; } = new([], "(none)");

    public string Path { get; }

    public IReadOnlyList<RegistryEntry> Entries { get; }

    public sealed record MirrorEntry(string Location, bool Insecure, string PullFromMirror);

    public sealed record RegistryEntry(string Prefix, string Location, bool Insecure, bool Blocked, string PullFromMirror, IReadOnlyList<MirrorEntry> Mirrors);

    /// <summary>
    /// Reads <paramref name="path"/>, or the default <see cref="DefaultPath"/> (which may be absent) and its drop-ins
    /// <c>registries.conf.d/*.conf</c> in name order, a later <c>[[registry]]</c> replacing an earlier one of the same
    /// prefix, as containers/image merges them. An explicit path must exist and is read alone.
    /// </summary>
    /// <exception cref="FormatException">Naming the file and the key.</exception>
    public static RegistriesConf Load(string? path = null)
    {
        if (path is not null)
            return File.Exists(path) ? Parse(File.ReadAllText(path), path) : throw new FileNotFoundException($"registries.conf {path} does not exist", path);
        var files = new List<string>();
        if (File.Exists(DefaultPath))
            files.Add(DefaultPath);
        var dropIns = DefaultPath + ".d";
        if (Directory.Exists(dropIns))
            files.AddRange(Directory.GetFiles(dropIns, "*.conf").Order(StringComparer.Ordinal));
        var merged = new List<RegistryEntry>();
        foreach (var file in files)
        {
            foreach (var entry in Parse(File.ReadAllText(file), file).Entries)
            {
                merged.RemoveAll(e => e.Prefix == entry.Prefix);
                merged.Add(entry);
            }
        }
        return files.Count == 0 ? Empty : new RegistriesConf(merged, string.Join(", ", files));
    }

    public static RegistriesConf Parse(string toml, string path = "registries.conf")
    {
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize(toml, RegistriesConfTomlContext.Default.TomlTable) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            throw new FormatException($"registries.conf {path} is not TOML: {e.Message}");
        }
        if (root.ContainsKey("registries"))
            throw new FormatException($"registries.conf {path} is in the version 1 format ([registries.search] …), which is not supported: convert it to [[registry]] tables");
        foreach (var (key, _) in root)
        {
            if (!TopLevelKeys.Contains(key))
                throw new FormatException($"registries.conf {path}: unknown key '{key}'");
        }
        var entries = new List<RegistryEntry>();
        if (root.TryGetValue("registry", out var registries))
        {
            if (registries is not TomlTableArray array)
                throw new FormatException($"registries.conf {path}: 'registry' is not an array of tables ([[registry]])");
            foreach (var table in array)
                entries.Add(ParseRegistry(table, path));
        }
        var duplicate = entries.GroupBy(e => e.Prefix, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new FormatException($"registries.conf {path}: prefix '{duplicate.Key}' is given more than once");
        return new RegistriesConf(entries, path);
    }

    /// <summary>
    /// Where to read <paramref name="reference"/> from, in order: mirrors that serve this kind of pull (by digest or
    /// by tag), then the location. Without a matching entry, the reference itself.
    /// </summary>
    /// <exception cref="RegistryBlockedException">The matching entry is blocked.</exception>
    public IReadOnlyList<RegistrySource> SourcesFor(ImageReference reference)
    {
        var entry = Match(reference);
        if (entry is null)
            return [new RegistrySource(reference, false, false)];
        if (entry.Blocked)
            throw new RegistryBlockedException($"registry {reference.Name} is blocked by {Path} ([[registry]] prefix \"{entry.Prefix}\")");
        var byDigest = reference.Digest is not null;
        var sources = new List<RegistrySource>();
        foreach (var mirror in entry.Mirrors)
        {
            if (mirror.PullFromMirror switch { "digest-only" => byDigest, "tag-only" => !byDigest, _ => true })
                sources.Add(new RegistrySource(Rewrite(reference, entry.Prefix, mirror.Location), mirror.Insecure, true));
        }
        sources.Add(new RegistrySource(entry.Prefix.StartsWith("*.", StringComparison.Ordinal) ? reference : Rewrite(reference, entry.Prefix, entry.Location),
            entry.Insecure, false));
        return sources;
    }

    /// <summary>True when a location or mirror with this host (host:port) is marked insecure.</summary>
    public bool IsInsecureHost(string host) =>
        Entries.Any(e => (e.Insecure && HostOf(e.Location) == host) || e.Mirrors.Any(m => m.Insecure && HostOf(m.Location) == host));

    private RegistryEntry? Match(ImageReference reference)
    {
        var name = reference.Name;
        RegistryEntry? best = null;
        foreach (var entry in Entries)
        {
            var matches = entry.Prefix.StartsWith("*.", StringComparison.Ordinal)
                ? HostOf(name).EndsWith(entry.Prefix[1..], StringComparison.Ordinal)
                : name == entry.Prefix || name.StartsWith(entry.Prefix + "/", StringComparison.Ordinal);
            if (matches && (best is null || entry.Prefix.Length > best.Prefix.Length))
                best = entry;
        }
        return best;
    }

    private static ImageReference Rewrite(ImageReference reference, string prefix, string location)
    {
        var rest = reference.Name[prefix.Length..];
        var text = location + rest + (reference.Tag is null ? "" : ":" + reference.Tag) + (reference.Digest is { } d ? "@" + d : "");
        return ImageReference.TryParse(text, out var rewritten, out var error)
            ? rewritten
            : throw new FormatException($"location '{location}' for {reference} gives '{text}', not an image reference: {error}");
    }

    private static string HostOf(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? name : name[..slash];
    }

    private static RegistryEntry ParseRegistry(TomlTable table, string path)
    {
        string? prefix = null, location = null;
        bool insecure = false, blocked = false;
        var pullFromMirror = "all";
        var mirrors = new List<MirrorEntry>();
        foreach (var (key, value) in table)
        {
            switch (key)
            {
                case "prefix": prefix = String(value, key, path); break;
                case "location": location = String(value, key, path); break;
                case "insecure": insecure = Bool(value, key, path); break;
                case "blocked": blocked = Bool(value, key, path); break;
                case "mirror-by-digest-only": pullFromMirror = Bool(value, key, path) ? "digest-only" : pullFromMirror; break;
                case "pull-from-mirror": pullFromMirror = PullFromMirror(value, path); break;
                case "mirror":
                    if (value is not TomlTableArray list)
                        throw new FormatException($"registries.conf {path}: 'mirror' is not an array of tables ([[registry.mirror]])");
                    foreach (var mirror in list)
                        mirrors.Add(ParseMirror(mirror, path));
                    break;
                default:
                    throw new FormatException($"registries.conf {path}: unknown key '{key}' in [[registry]]");
            }
        }
        if (string.IsNullOrEmpty(prefix))
            prefix = location;
        if (string.IsNullOrEmpty(prefix))
            throw new FormatException($"registries.conf {path}: a [[registry]] has neither prefix nor location");
        location = string.IsNullOrEmpty(location) ? prefix : location;
        if (prefix.StartsWith("*.", StringComparison.Ordinal) && location != prefix)
            throw new FormatException($"registries.conf {path}: wildcard prefix '{prefix}' cannot have a location");
        return new RegistryEntry(prefix.TrimEnd('/'), location.TrimEnd('/'), insecure, blocked, pullFromMirror, mirrors);
    }

    private static MirrorEntry ParseMirror(TomlTable table, string path)
    {
        string? location = null;
        var insecure = false;
        var pullFromMirror = "all";
        foreach (var (key, value) in table)
        {
            switch (key)
            {
                case "location": location = String(value, key, path); break;
                case "insecure": insecure = Bool(value, key, path); break;
                case "pull-from-mirror": pullFromMirror = PullFromMirror(value, path); break;
                default:
                    throw new FormatException($"registries.conf {path}: unknown key '{key}' in [[registry.mirror]]");
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new FormatException($"registries.conf {path}: a [[registry.mirror]] has no location");
        return new MirrorEntry(location.TrimEnd('/'), insecure, pullFromMirror);
    }

    private static string PullFromMirror(object value, string path) =>
        String(value, "pull-from-mirror", path) is var mode && mode is "all" or "digest-only" or "tag-only"
            ? mode
            : throw new FormatException($"registries.conf {path}: pull-from-mirror '{value}' is not all, digest-only or tag-only");

    private static string String(object value, string key, string path) =>
        value as string ?? throw new FormatException($"registries.conf {path}: '{key}' is not a string");

    private static bool Bool(object value, string key, string path) =>
        value as bool? ?? throw new FormatException($"registries.conf {path}: '{key}' is not a boolean");
}

/// <summary>The TOML document model, source-generated so reading it needs no reflection (AOT).</summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class RegistriesConfTomlContext : TomlSerializerContext;

using System.Collections.Frozen;

namespace TrustLaunch.Verifier.Dashboard;

/// <summary>One file of the dashboard, as embedded in the binary.</summary>
public sealed record DashboardAsset(byte[] Content, string ContentType);

/// <summary>The dashboard's files (<c>Dashboard/wwwroot</c>), embedded as resources <c>dashboard/NAME</c>: no external assets.</summary>
public static class DashboardAssets
{
    private const string Prefix = "dashboard/";

    private static readonly FrozenDictionary<string, DashboardAsset> s_assets = Load();

    /// <summary>The file named <paramref name="name"/> (no directories), or null.</summary>
    public static DashboardAsset? Find(string name) => s_assets.GetValueOrDefault(name);

    public static IEnumerable<string> Names => s_assets.Keys;

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var name = resource[Prefix.Length..];
            assets[name] = new DashboardAsset(buffer.ToArray(), ContentTypeOf(name));
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}

using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;

namespace TrustLaunch.Agent.Attestation;

/// <summary>
/// The golden values the launcher measured with <c>ImageVerified</c>, content-addressed under the agent's data dir
/// (<c>DIR/sha256-HEX.jws</c>, files 0600 in a 0700 directory), so every quote can hand verifiers the golden value
/// of each <c>ImageVerified</c> it returns and they check it themselves.
/// </summary>
public sealed class GoldenValueStore(string directory)
{
    private const string Suffix = ".jws";
    private static readonly string ImageVerifiedPrefix = $"{LaunchEvents.Domain} {LaunchEvents.ImageVerified} ";

    public string Directory { get; } = directory;

    /// <summary>Keeps <paramref name="jws"/> under its digest; written to a temporary file, flushed, then renamed into place.</summary>
    public void Put(string jws)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("golden values are kept with unix file modes");
        var path = PathOf(GoldenValue.JwsDigest(jws));
        if (File.Exists(path) && File.ReadAllText(path) == jws)
            return;
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                file.Write(System.Text.Encoding.ASCII.GetBytes(jws));
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The golden value whose digest is <paramref name="golden"/> (<c>sha256:HEX</c>), or null when none is kept.</summary>
    public string? Find(string golden)
    {
        if (!Digest.TryParse(golden, out var digest, out _) || digest.Algorithm != "sha256" || digest.ToString() != golden)
            return null;
        var path = PathOf(golden);
        if (!File.Exists(path))
            return null;
        var jws = File.ReadAllText(path);
        // A file edited on disk is not the golden value the event names: leave it out and let the verifier refuse.
        return GoldenValue.JwsDigest(jws) == golden ? jws : null;
    }

    /// <summary>The golden values, by digest, of the <c>ImageVerified</c> records among <paramref name="records"/> that are kept.</summary>
    public Dictionary<string, string> For(IEnumerable<CelRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (!record.Content.StartsWith(ImageVerifiedPrefix, StringComparison.Ordinal))
                continue;
            if (GoldenOf(record.Content) is { } golden && !found.ContainsKey(golden) && Find(golden) is { } jws)
                found[golden] = jws;
        }
        return found;
    }

    private static string? GoldenOf(string line)
    {
        try
        {
            var content = EventLine.Parse(line).Content;
            return content.ValueKind == JsonValueKind.Object && content.TryGetProperty("golden", out var golden) && golden.ValueKind == JsonValueKind.String
                ? golden.GetString()
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private string PathOf(string golden) => Path.Combine(Directory, golden.Replace(':', '-') + Suffix);
}

using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image list</c>: the images recorded in the content store.</summary>
public static class ImageListCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var command = new Command("list", "List the images in the content store");
        command.SetAction(async (parse, ct) =>
        {
            var store = registry.OpenStore(parse);
            var entries = new List<ImageListEntry>();
            foreach (var record in store.List())
            {
                long? size = null;
                if (ImageReference.TryParse(record.Reference, out var reference, out _) && LocalImages.Find(store, reference) is { } image)
                    size = image.Size;
                entries.Add(new ImageListEntry(record.Reference, record.ManifestDigest.ToString(), size, record.Stored));
            }
            return await CliOutput.For(parse, options).WriteAsync(new ImageListResult(entries), CliJsonContext.Output.ImageListResult, WriteTable).ConfigureAwait(false);
        });
        return command;
    }

    private static void WriteTable(TextWriter w, ImageListResult result)
    {
        string[] header = ["REFERENCE", "DIGEST", "SIZE", "PULLED"];
        var rows = result.Images.Select(i => new[]
        {
            i.Reference,
            ShortDigest(i.ManifestDigest),
            i.Size is { } s ? PullProgressView.Bytes(s) : "?",
            i.Pulled.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        }).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Select(r => r[c].Length).Append(header[c].Length).Max()).ToArray();
        foreach (var row in rows.Prepend(header))
            w.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))));
    }

    /// <summary><c>sha256:</c> and the first 12 hex digits.</summary>
    public static string ShortDigest(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && digest.Length > colon + 13 ? digest[..(colon + 13)] : digest;
    }
}

using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image inspect REF</c>: manifest, config summary and layers of a stored image.</summary>
public static class ImageInspectCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var command = new Command("inspect", "Show a stored image's manifest, config and layers") { reference };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var image = LocalImages.Require(registry.OpenStore(parse), r);
            var diffIds = image.Config.RootFs.DiffIds;
            var process = image.Config.Config;
            var result = new InspectResult(
                r.ToString(),
                image.ManifestDigest.ToString(),
                image.Record.MediaType,
                image.Record.IndexDigest?.ToString(),
                image.Record.Stored,
                image.Manifest.Config.Digest.ToString(),
                image.Config.Os,
                image.Config.Architecture,
                image.Config.Created,
                process?.Entrypoint,
                process?.Cmd,
                process?.Env,
                process?.WorkingDir,
                process?.User,
                image.Size,
                image.Manifest.Layers.Select((l, i) => new InspectLayer(l.Digest.ToString(), l.MediaType, l.Size,
                    i < diffIds.Count ? diffIds[i].ToString() : null, MediaTypes.IsEncrypted(l.MediaType))).ToList());
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.InspectResult, WriteText).ConfigureAwait(false);
        });
        return command;
    }

    private static void WriteText(TextWriter w, InspectResult r)
    {
        w.WriteLine($"reference:   {r.Reference}");
        w.WriteLine($"manifest:    {r.ManifestDigest} ({r.MediaType})");
        if (r.IndexDigest is not null)
            w.WriteLine($"index:       {r.IndexDigest}");
        w.WriteLine($"config:      {r.ConfigDigest}");
        w.WriteLine($"platform:    {r.Os}/{r.Architecture}");
        if (r.Created is { } created)
            w.WriteLine($"created:     {created.ToUniversalTime():yyyy-MM-dd'T'HH:mm:ss'Z'}");
        w.WriteLine($"entrypoint:  {Join(r.Entrypoint)}");
        w.WriteLine($"cmd:         {Join(r.Cmd)}");
        w.WriteLine($"workdir:     {r.WorkingDir ?? "-"}");
        w.WriteLine($"user:        {(string.IsNullOrEmpty(r.User) ? "-" : r.User)}");
        foreach (var env in r.Env ?? [])
            w.WriteLine($"env:         {env}");
        w.WriteLine($"size:        {PullProgressView.Bytes(r.Size)} ({r.Size} bytes)");
        w.WriteLine($"layers:      {r.Layers.Count}");
        foreach (var l in r.Layers)
            w.WriteLine($"  {l.Digest}  {l.Size,10}  {l.MediaType}  diff_id {l.DiffId ?? "?"}");
    }

    private static string Join(IReadOnlyList<string>? args) => args is null || args.Count == 0 ? "-" : string.Join(' ', args);
}

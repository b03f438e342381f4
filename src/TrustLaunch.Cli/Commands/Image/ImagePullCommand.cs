using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image pull REF [--platform P] [--decryption-key F]…</c>.</summary>
public static class ImagePullCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var platform = RegistryOptions.PlatformOption();
        var keys = RegistryOptions.DecryptionKeyOption();
        var command = new Command("pull", "Pull an image into the content store (layers verified while they stream)")
        {
            reference, platform, keys,
        };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var p = RegistryOptions.ParsePlatform(parse.GetValue(platform));
            using var ring = RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys));
            var store = registry.OpenStore(parse);
            using var client = registry.CreateClient(parse, options.Input, r);
            var output = CliOutput.For(parse, options);
            var view = output.Json ? null : new PullProgressView(output.Writer, PullProgressView.IsTerminal(output.Writer));
            var image = await LocalImages.PullAsync(client, store, r, p, ring, view, ct).ConfigureAwait(false);
            view?.Complete();
            var result = new PullResult(r.ToString(), image.ManifestDigest.ToString(), image.Record.MediaType, image.Record.IndexDigest?.ToString(),
                image.Manifest.Layers.Count, image.Size);
            return await output.WriteAsync(result, CliJsonContext.Output.PullResult,
                (w, x) => w.WriteLine($"pulled {x.Reference} {x.ManifestDigest}")).ConfigureAwait(false);
        });
        return command;
    }
}

using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// <c>trustlaunch image unpack REF DIR [--decryption-key F]…</c>: an OCI runtime bundle — <c>DIR/rootfs</c> from the
/// stored layers (pulled first when absent) and <c>DIR/config.json</c> from the image config.
/// </summary>
public static class ImageUnpackCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var directory = new Argument<string>("DIR") { Description = "Bundle directory: DIR/rootfs and DIR/config.json are written" };
        var platform = RegistryOptions.PlatformOption();
        var keys = RegistryOptions.DecryptionKeyOption();
        var command = new Command("unpack", "Unpack an image into an OCI runtime bundle (rootfs + config.json), pulling it first if needed")
        {
            reference, directory, platform, keys,
        };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var p = RegistryOptions.ParsePlatform(parse.GetValue(platform));
            var bundle = Path.GetFullPath(parse.GetValue(directory)!);
            var rootfs = Path.Combine(bundle, "rootfs");
            LocalImages.PrepareTarget(rootfs);
            using var ring = RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys));
            var store = registry.OpenStore(parse);
            var output = CliOutput.For(parse, options);

            var image = LocalImages.Find(store, r);
            if (image is null)
            {
                using var client = registry.CreateClient(parse, options.Input, r);
                var view = output.Json ? null : new PullProgressView(output.Writer, PullProgressView.IsTerminal(output.Writer));
                image = await LocalImages.PullAsync(client, store, r, p, ring, view, ct).ConfigureAwait(false);
                view?.Complete();
            }
            Directory.CreateDirectory(bundle);
            var unpacked = await LocalImages.UnpackAsync(store, image, ring, rootfs, ct).ConfigureAwait(false);
            var configDigest = LocalImages.WriteBundleConfig(bundle, image);
            var result = new UnpackResult(r.ToString(), image.ManifestDigest.ToString(), bundle, rootfs, unpacked.Digests.Current.ToString(), configDigest.ToString(),
                unpacked.XattrsSkipped, unpacked.XattrsNotApplied);
            return await output.WriteAsync(result, CliJsonContext.Output.UnpackResult, (w, x) =>
            {
                w.WriteLine($"unpacked {x.Reference} {x.ManifestDigest} into {x.Bundle}");
                w.WriteLine($"rootfs      {x.RootfsDigest}");
                w.WriteLine($"config.json {x.ConfigDigest}");
                if (x.XattrsSkipped > 0 || x.XattrsNotApplied > 0)
                    w.WriteLine($"xattrs      {x.XattrsSkipped} skipped (not user.* or security.capability), {x.XattrsNotApplied} refused by the filesystem");
            }).ConfigureAwait(false);
        });
        return command;
    }
}

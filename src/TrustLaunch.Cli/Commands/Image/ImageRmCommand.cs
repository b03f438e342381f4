using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image rm REF</c>: forgets an image; <c>image gc</c> frees its blobs.</summary>
public static class ImageRmCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var command = new Command("rm", "Remove an image from the content store (its blobs stay until `image gc`)") { reference };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var store = registry.OpenStore(parse);
            var record = store.Find(r.ToString());
            if (record is null || !store.Remove(r.ToString()))
                throw new CliFailureException($"image {r} is not in the content store {store.Root}");
            return await CliOutput.For(parse, options).WriteAsync(new RemoveResult(r.ToString(), record.ManifestDigest.ToString()),
                CliJsonContext.Output.RemoveResult, (w, x) => w.WriteLine($"removed {x.Reference} {x.ManifestDigest}")).ConfigureAwait(false);
        });
        return command;
    }
}

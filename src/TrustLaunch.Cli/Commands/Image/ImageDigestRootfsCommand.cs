using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image digest-rootfs DIR</c>: the rootfs tree digest golden values pin.</summary>
public static class ImageDigestRootfsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var directory = new Argument<string>("DIR") { Description = "An unpacked root filesystem, e.g. BUNDLE/rootfs" };
        var command = new Command("digest-rootfs", "Print the tree digest of an unpacked root filesystem (paths, types, modes, owners, links, contents)")
        {
            directory,
        };
        command.SetAction(async (parse, ct) =>
        {
            var dir = Path.GetFullPath(parse.GetValue(directory)!);
            var digest = RootfsDigest.Compute(dir, ct);
            return await CliOutput.For(parse, options).WriteAsync(new RootfsDigestResult(dir, digest.ToString()),
                CliJsonContext.Output.RootfsDigestResult, (w, x) => w.WriteLine(x.Digest)).ConfigureAwait(false);
        });
        return command;
    }
}

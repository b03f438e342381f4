using System.CommandLine;
using TrustLaunch.Cli.Commands.Image;

namespace TrustLaunch.Cli.Commands;

/// <summary><c>trustlaunch image …</c>: one file per subcommand under <c>Commands/Image/</c>, listed here.</summary>
public static class ImageCommand
{
    public static Command Create(GlobalOptions options)
    {
        var registry = new RegistryOptions();
        var image = new Command("image", "Pull, list, inspect, unpack, encrypt, sign and remove OCI images in the content store");
        registry.AddTo(image);
        Command[] subcommands =
        [
            ImagePullCommand.Create(options, registry),
            ImageListCommand.Create(options, registry),
            ImageInspectCommand.Create(options, registry),
            ImageRmCommand.Create(options, registry),
            ImageGcCommand.Create(options, registry),
            ImageUnpackCommand.Create(options, registry),
            ImageDigestRootfsCommand.Create(options),
            ImageEncryptCommand.Create(options, registry),
            ImageSignCommand.Create(options, registry),
        ];
        foreach (var command in subcommands)
            image.Subcommands.Add(command);
        return image;
    }
}

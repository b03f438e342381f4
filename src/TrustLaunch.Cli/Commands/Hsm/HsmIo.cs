using System.CommandLine;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary>Input and output files of the data-handling subcommands.</summary>
internal static class HsmIo
{
    public static Option<string> In(string description) => new("--in") { Description = description, HelpName = "FILE", Required = true };

    public static Option<string?> Out(string description) => new("--out") { Description = description, HelpName = "FILE" };

    public static Option<string> Key(string description) => new("--key") { Description = description, HelpName = "URI|LABEL", Required = true };

    public static byte[] Read(string path) => path == "-" ? ReadStdin() : File.ReadAllBytes(path);

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }
}

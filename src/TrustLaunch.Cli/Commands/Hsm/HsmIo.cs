using System.CommandLine;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary>Input and output files of the data-handling subcommands.</summary>
internal static class HsmIo
{
    public static Option<string> In(string description) => new("--in") { Description = description, HelpName = "FILE", Required = true };

    public static Option<string?> Out(string description) => new("--out") { Description = description, HelpName = "FILE" };

    public static Option<string> Key(string description) => new("--key") { Description = description, HelpName = "URI|LABEL", Required = true };

    public static Option<string?> Usage() => new("--usage")
    {
        Description = $"What the key is for, and only that: {HsmKeyUsages.Names} (default: sign for RSA/EC, wrap for AES)",
        HelpName = "sign|encrypt|wrap",
    };

    /// <summary>The key type and usage given; a usage that does not fit the type is a usage error.</summary>
    public static (HsmKeySpec Spec, HsmKeyUsage Usage) KeySpec(string type, string? usage)
    {
        try
        {
            var spec = HsmKeySpec.Parse(type);
            return (spec, HsmKeyUsages.Resolve(spec.Kind, usage is null ? null : HsmKeyUsages.Parse(usage)));
        }
        catch (FormatException e)
        {
            throw new CliUsageException(e.Message);
        }
    }

    public static byte[] Read(string path) => path == "-" ? ReadStdin() : File.ReadAllBytes(path);

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }
}

using System.CommandLine;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Policy;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// <c>--signature-policy FILE</c> and <c>--registries.d DIR</c>, as skopeo names them: the containers-policy.json a
/// launch must satisfy beside its golden value, and where signatures are stored. Without <c>--signature-policy</c>,
/// <c>/etc/containers/policy.json</c> applies when it exists; when it does not, golden values alone decide.
/// </summary>
public sealed class ImageSignaturePolicyOptions
{
    public Option<string?> SignaturePolicy { get; } = new("--signature-policy")
    {
        Description = $"containers-policy.json the image must also satisfy (default: {Oci.Policy.SignaturePolicy.DefaultPath} when it exists)",
        HelpName = "FILE",
    };

    public Option<string?> RegistriesD { get; } = RegistriesDOption();

    public static Option<string?> RegistriesDOption() => new("--registries.d")
    {
        Description = $"Directory of registries.d *.yaml naming signature stores (lookaside, use-sigstore-attachments; default: {Oci.Policy.RegistriesD.DefaultPath})",
        HelpName = "DIR",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(SignaturePolicy);
        command.Options.Add(RegistriesD);
    }

    /// <summary><paramref name="judge"/> behind the signature policy, or <paramref name="judge"/> alone when there is none.</summary>
    public IImageJudge Wrap(ParseResult parse, IImageJudge judge)
    {
        try
        {
            return SignaturePolicyJudge.Wrap(judge, parse.GetValue(SignaturePolicy), parse.GetValue(RegistriesD));
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliUsageException(e.Message);
        }
    }

    /// <summary>Reads the policy and registries.d as <see cref="Wrap"/> would, so a malformed one is a usage error here too.</summary>
    public void Check(ParseResult parse)
    {
        try
        {
            if (parse.GetValue(SignaturePolicy) is not null || File.Exists(Oci.Policy.SignaturePolicy.DefaultPath))
            {
                Oci.Policy.SignaturePolicy.Load(parse.GetValue(SignaturePolicy));
                Oci.Policy.RegistriesD.Load(parse.GetValue(RegistriesD));
            }
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliUsageException(e.Message);
        }
    }

    /// <summary>The absolute paths a launch through the agent names (the agent reads them itself).</summary>
    public (string? SignaturePolicy, string? RegistriesD) Paths(ParseResult parse) =>
        (parse.GetValue(SignaturePolicy) is { } policy ? Path.GetFullPath(policy) : null,
         parse.GetValue(RegistriesD) is { } directory ? Path.GetFullPath(directory) : null);

    public static RegistriesD LoadRegistriesD(string? directory)
    {
        try
        {
            return Oci.Policy.RegistriesD.Load(directory);
        }
        catch (Exception e) when (e is FormatException or DirectoryNotFoundException)
        {
            throw new CliUsageException(e.Message);
        }
    }
}

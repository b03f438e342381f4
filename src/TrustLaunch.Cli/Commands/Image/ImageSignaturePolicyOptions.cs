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
    /// <summary>Reads http(s) lookaside stores; one per process, as HttpClient is meant to be used.</summary>
    private static readonly HttpClient LookasideHttp = new() { Timeout = TimeSpan.FromSeconds(60) };

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
        var path = parse.GetValue(SignaturePolicy);
        if (path is null && !File.Exists(Oci.Policy.SignaturePolicy.DefaultPath))
            return judge;
        SignaturePolicy policy;
        try
        {
            policy = Oci.Policy.SignaturePolicy.Load(path);
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException)
        {
            throw new CliUsageException(e.Message);
        }
        return new SignaturePolicyJudge(judge, new SignaturePolicyCheck(policy, LoadRegistriesD(parse.GetValue(RegistriesD)), LookasideHttp));
    }

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

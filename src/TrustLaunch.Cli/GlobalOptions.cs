using System.CommandLine;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Transport;

namespace TrustLaunch.Cli;

/// <summary>Options every command takes. Built once per invocation so parallel in-process runs share nothing.</summary>
public sealed class GlobalOptions
{
    public Option<string> Tpm { get; } = new("--tpm")
    {
        Description = $"TPM to use: swtpm:host=H,port=P or device:PATH (default: ${TpmTransports.EnvironmentVariable}, else {TpmTransports.DefaultDevice})",
        HelpName = "SPEC",
        Recursive = true,
        DefaultValueFactory = _ => TpmTransports.DefaultSpec,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print machine-readable JSON instead of text",
        Recursive = true,
    };

    /// <summary>Standard input of this invocation (what <c>--password-stdin</c> reads).</summary>
    public TextReader Input { get; init; } = TextReader.Null;

    public void AddTo(Command root)
    {
        root.Options.Add(Tpm);
        root.Options.Add(Json);
    }

    public TpmDevice OpenTpm(ParseResult parse) => TpmDevice.Open(parse.GetValue(Tpm));
}

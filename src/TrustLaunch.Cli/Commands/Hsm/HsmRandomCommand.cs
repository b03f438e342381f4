using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm random</c>.</summary>
public static class HsmRandomCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var bytes = new Argument<int>("BYTES") { Description = "How many random bytes (1-65536)", DefaultValueFactory = _ => 32 };
        var command = new Command("random", "Random bytes from the token's generator, in hex") { bytes };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var n = parse.GetValue(bytes);
            if (n is < 1 or > 65536)
                throw new CliUsageException($"BYTES is {n}; give 1 to 65536");
            using var session = hsm.Open(parse, login: false);
            var result = new HsmRandomResult(Convert.ToHexStringLower(session.GenerateRandom(n)));
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmRandomResult, (w, r) => w.WriteLine(r.Bytes)).ConfigureAwait(false);
        }));
        return command;
    }
}

using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm delete</c>.</summary>
public static class HsmDeleteCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var key = HsmIo.Key("Key: pkcs11:token=…;object=…[;type=…] or its label (without type=, both halves of a pair)");
        var command = new Command("delete", "Destroy key objects") { key };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(key)!);
            using var session = hsm.Open(parse, uri);
            var n = session.Delete(uri);
            var result = new HsmDeleteResult((uri with { Token = session.TokenLabel }).ToString(), n);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmDeleteResult,
                (w, r) => w.WriteLine($"deleted {r.Deleted} object(s) matching {r.Key}")).ConfigureAwait(false);
        }));
        return command;
    }
}

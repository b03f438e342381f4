using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm mechanisms</c>.</summary>
public static class HsmMechanismsCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var command = new Command("mechanisms", "List the token's mechanisms, key sizes and uses");
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var label = hsm.TokenLabel(parse);
            var result = new HsmMechanismsResult(label, hsm.Load(parse).GetMechanisms(label)
                .Select(m => new HsmMechanismResult(m.Name, m.MinKeySize, m.MaxKeySize, m.Flags)).ToList());
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmMechanismsResult, (w, r) =>
            {
                foreach (var m in r.Mechanisms)
                    w.WriteLine($"{m.Name,-32} {m.MinKeySize,5}-{m.MaxKeySize,-6} {string.Join(',', m.Flags)}");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}

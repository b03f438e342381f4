using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm init-token|init-pin</c>: the SO PIN comes from <c>--so-pin-file</c> or
/// <c>TRUSTLAUNCH_HSM_SO_PIN</c>, the user PIN as everywhere else.</summary>
public static class HsmInitCommands
{
    private static Option<string?> SoPinFile() => new("--so-pin-file") { Description = $"Read the SO PIN from FILE (default ${HsmOptions.SoPinEnvironmentVariable})", HelpName = "FILE" };

    private static byte[] SoPin(ParseResult parse, Option<string?> option) =>
        PinSource.Read(parse.GetValue(option), environmentVariable: HsmOptions.SoPinEnvironmentVariable)
        ?? throw new CliUsageException($"no SO PIN: set {HsmOptions.SoPinEnvironmentVariable} or pass --so-pin-file FILE");

    public static Command CreateInitToken(GlobalOptions options, HsmOptions hsm)
    {
        var label = new Argument<string>("LABEL") { Description = "Label for the new token" };
        var soPin = SoPinFile();
        var command = new Command("init-token", "Initialise the first free token with LABEL and the SO PIN; then set a user PIN with init-pin") { label, soPin };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var so = SoPin(parse, soPin);
            try
            {
                var module = hsm.Load(parse);
                var slot = module.InitToken(parse.GetValue(label)!, so);
                var userPin = hsm.Pin(parse, required: false);
                if (userPin is not null)
                {
                    try
                    {
                        module.InitPin(parse.GetValue(label)!, so, userPin);
                    }
                    finally
                    {
                        Array.Clear(userPin);
                    }
                }
                var result = new HsmInitTokenResult(parse.GetValue(label)!, slot, userPin is not null);
                return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmInitTokenResult,
                    (w, r) => w.WriteLine($"initialised token '{r.Label}' in slot {r.SlotId}{(r.UserPinSet ? " with a user PIN" : "; set a user PIN with hsm init-pin")}")).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(so);
            }
        }));
        return command;
    }

    public static Command CreateInitPin(GlobalOptions options, HsmOptions hsm)
    {
        var soPin = SoPinFile();
        var command = new Command("init-pin", "As the security officer, set (or reset) the token's user PIN") { soPin };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var so = SoPin(parse, soPin);
            var user = hsm.Pin(parse, required: true)!;
            try
            {
                var label = hsm.TokenLabel(parse);
                hsm.Load(parse).InitPin(label, so, user);
                var result = new HsmInitTokenResult(label, null, true);
                return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmInitTokenResult,
                    (w, r) => w.WriteLine($"set the user PIN of token '{r.Label}'")).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(so);
                Array.Clear(user);
            }
        }));
        return command;
    }
}

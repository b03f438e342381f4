using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm keys</c>.</summary>
public static class HsmKeysCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var command = new Command("keys", "List the token's objects as PKCS#11 URIs (private keys need a PIN)");
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var module = hsm.Load(parse);
            var label = hsm.TokenLabel(parse);
            var pin = hsm.Pin(parse, required: false);
            HsmKeysResult result;
            try
            {
                using var session = module.OpenSession(label, pin ?? []);
                result = new HsmKeysResult(label, pin is not null, session.ListKeys()
                    .Select(k => new HsmKeyResult(k.Uri, k.Label, k.Id, k.Class, k.KeyType, k.Bits, k.Sensitive, k.Extractable, k.Usage)).ToList());
            }
            finally
            {
                if (pin is not null)
                    Array.Clear(pin);
            }
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmKeysResult, (w, r) =>
            {
                foreach (var k in r.Keys)
                {
                    var attrs = k.Class == "public" ? "" : $" {(k.Extractable == true ? "extractable" : "non-extractable")}{(k.Sensitive == true ? ",sensitive" : "")}";
                    w.WriteLine($"{k.Uri}  {k.KeyType}{(k.Bits is { } b ? $"-{b}" : "")} id={k.Id}{attrs} [{string.Join(',', k.Usage)}]");
                }
                if (!r.LoggedIn)
                    w.WriteLine("(not logged in: private objects hidden; set TRUSTLAUNCH_HSM_PIN or --pin-file)");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}

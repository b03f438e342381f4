using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm verify</c>: prints <c>valid</c> (exit 0) or <c>signature invalid</c> (exit 1).</summary>
public static class HsmVerifyCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var key = HsmIo.Key("Public key: pkcs11:token=…;object=…[;type=public] or its label");
        var alg = new Option<string>("--alg") { Description = "RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384", HelpName = "ALG", Required = true };
        alg.AcceptOnlyFromAmong("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384");
        var input = HsmIo.In("Signed data (- for stdin)");
        var signature = new Option<string>("--signature") { Description = "Signature file (ECDSA: r||s or DER)", HelpName = "FILE", Required = true };
        var command = new Command("verify", "Verify a signature with a public key in the HSM") { key, alg, input, signature };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(key)!);
            var data = HsmIo.Read(parse.GetValue(input)!);
            var sig = await File.ReadAllBytesAsync(parse.GetValue(signature)!, ct).ConfigureAwait(false);
            using var session = hsm.Open(parse, uri, login: false);
            var k = session.FindKey(uri, HsmObjectType.Public);
            var valid = session.Verify(k, parse.GetValue(alg)!, data, sig);
            var result = new HsmVerifyResult(valid, valid ? "valid" : "signature invalid");
            await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmVerifyResult, (w, r) => w.WriteLine(r.Reason)).ConfigureAwait(false);
            return valid ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }
}

using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm sign</c>.</summary>
public static class HsmSignCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var key = HsmIo.Key("Private key: pkcs11:token=…;object=…[;type=private] or its label");
        var alg = new Option<string>("--alg") { Description = "RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384", HelpName = "ALG", Required = true };
        alg.AcceptOnlyFromAmong("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384");
        var format = new Option<string>("--format") { Description = "ECDSA signature encoding: raw (r||s, as JWS) or der", HelpName = "raw|der", DefaultValueFactory = _ => "raw" };
        format.AcceptOnlyFromAmong("raw", "der");
        var input = HsmIo.In("Data to sign (- for stdin)");
        var output = HsmIo.Out("Write the signature here (default: print it in hex)");
        var command = new Command("sign", "Sign data with a key in the HSM") { key, alg, format, input, output };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(key)!);
            var data = HsmIo.Read(parse.GetValue(input)!);
            using var session = hsm.Open(parse, uri);
            var k = session.FindKey(uri, HsmObjectType.Private);
            var algorithm = parse.GetValue(alg)!;
            var signature = session.Sign(k, algorithm, data);
            var der = parse.GetValue(format) == "der";
            if (der && k.Kind == HsmKeyKind.Ec)
                signature = EcdsaSignatureFormats.P1363ToDer(signature);
            var outFile = parse.GetValue(output);
            if (outFile is not null)
                await File.WriteAllBytesAsync(outFile, signature, ct).ConfigureAwait(false);
            var result = new HsmSignResult(new Pkcs11Uri { Token = session.TokenLabel, Object = k.Label, Type = k.Type }.ToString(), algorithm,
                der && k.Kind == HsmKeyKind.Ec ? "der" : "raw", Convert.ToHexStringLower(signature), outFile);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmSignResult, (w, r) =>
                w.WriteLine(r.OutFile is null ? r.Signature : $"wrote {r.Signature.Length / 2}-byte {r.Algorithm} signature to {r.OutFile}")).ConfigureAwait(false);
        }));
        return command;
    }
}

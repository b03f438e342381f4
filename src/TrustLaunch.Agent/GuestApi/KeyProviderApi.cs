using System.Text;
using Google.Protobuf;
using Grpc.Core;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.GuestApi.KeyProvider;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Agent.GuestApi;

/// <summary>
/// ocicrypt's gRPC <c>KeyProviderService</c> on the node's data hub socket (the data hub's UnwrapKey): UnWrapKey opens
/// a <c>trustlaunch</c> packet with its key-encryption key fetched through the broker, as <c>trustlaunch keyprovider</c>'s
/// keyunwrap does (<see cref="KeyProviderProtocol.UnwrapAsync"/>). WrapKey is refused: wrapping makes or reads the
/// image's key-encryption key at the broker with admin credentials, which is the publisher's job, never a node's.
/// </summary>
public sealed class KeyProviderApi(WorkloadServices services) : KeyProviderService.KeyProviderServiceBase
{
    public const string WrapRefused =
        "WrapKey is refused on a node: wrapping is the image publisher's, with the broker's admin credentials (trustlaunch image encrypt --recipient provider:trustlaunch:kbs:///…)";

    public override Task<KeyProviderKeyWrapProtocolOutput> WrapKey(KeyProviderKeyWrapProtocolInput request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.PermissionDenied, WrapRefused));

    public override Task<KeyProviderKeyWrapProtocolOutput> UnWrapKey(KeyProviderKeyWrapProtocolInput request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () =>
        {
            var input = request.KeyProviderKeyWrapProtocolInput_;
            if (input.Length > KeyProviderProtocol.MaxMessageLength)
                throw new KeyProviderProtocolException($"the message is more than {KeyProviderProtocol.MaxMessageLength} bytes");
            var unwrap = KeyProviderProtocol.Parse(Encoding.UTF8.GetString(input.Span)) as KeyUnwrapRequest
                ?? throw new KeyProviderProtocolException("UnWrapKey takes a keyunwrap message");
            var answer = await KeyProviderProtocol.UnwrapAsync(unwrap,
                (kid, ct) => services.ResourceAsync(WorkloadIdentity.Node, kid, ct), context.CancellationToken).ConfigureAwait(false);
            return new KeyProviderKeyWrapProtocolOutput { KeyProviderKeyWrapProtocolOutput_ = ByteString.CopyFromUtf8(answer) };
        });
}

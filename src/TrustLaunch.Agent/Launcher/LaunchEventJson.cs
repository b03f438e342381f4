using System.Text.Json.Serialization;
using TrustLaunch.Measurement;

namespace TrustLaunch.Agent.Launcher;

[JsonSerializable(typeof(ImagePulledEvent))]
[JsonSerializable(typeof(ImageVerifiedEvent))]
[JsonSerializable(typeof(ImageRejectedEvent))]
[JsonSerializable(typeof(ContainerCreatedEvent))]
[JsonSerializable(typeof(ContainerEvent))]
[JsonSerializable(typeof(ContainerStoppedEvent))]
[JsonSerializable(typeof(ContainerExecEvent))]
internal sealed partial class LaunchEventJson : JsonSerializerContext;

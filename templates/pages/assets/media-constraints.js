// The camera's and the microphone's getUserMedia constraints, for the call and the device check.
// Echo cancellation works only on audio the browser plays itself: remote audio goes through a
// media element (never Web Audio), and every microphone opens with these three on.
export function mediaConstraints({ audioDeviceId, videoDeviceId } = {}) {
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  if (audioDeviceId) audio.deviceId = { exact: audioDeviceId };
  if (videoDeviceId) video.deviceId = { exact: videoDeviceId };
  return { audio, video };
}

export async function getLocalMedia(devices) {
  return navigator.mediaDevices.getUserMedia(mediaConstraints(devices));
}

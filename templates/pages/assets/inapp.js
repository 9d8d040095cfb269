// Links opened from a social or mail app often open in that app's own browser view, which on
// iOS and in many Android apps cannot use the camera. Recognise the common ones by their user
// agent and tell the patient how to open the link in Safari or Chrome instead.
const IN_APP_BROWSERS = [
  [/FBAN|FBAV|FB_IAB|FBIOS/, "Facebook"],
  [/Instagram/, "Instagram"],
  [/\bLine\//, "LINE"],
  [/MicroMessenger/, "WeChat"],
  [/LinkedInApp/, "LinkedIn"],
  [/Snapchat/, "Snapchat"],
  [/musical_ly|BytedanceWebview|TikTok/, "TikTok"],
  [/Twitter|TwitterAndroid/, "X (Twitter)"],
  [/Pinterest/, "Pinterest"],
  [/Telegram/, "Telegram"],
  [/GSA\//, "Google app"],
  // Android's WebView (any app that shows pages itself) marks itself with "; wv)".
  [/Android.*; wv\)/, "an app"],
];

export function inAppBrowser(userAgent) {
  for (const [pattern, name] of IN_APP_BROWSERS) if (pattern.test(userAgent)) return name;
  return null;
}

export function showInAppNotice(box, userAgent = navigator.userAgent) {
  const app = inAppBrowser(userAgent);
  if (!app) return false;
  const ios = /iPhone|iPad|iPod/.test(userAgent);
  const browser = ios ? "Safari" : "Chrome";
  box.querySelector(".words").textContent = `This link opened inside ${app}, which cannot use your camera and microphone.`
    + ` Open it in ${browser}: tap the menu (⋯ or ⋮) and choose "Open in ${browser}" or "Open in browser",`
    + ` or copy the link and paste it into ${browser}.`;
  const button = box.querySelector("button");
  const status = box.querySelector(".copy-status");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      status.textContent = `Link copied. Now open ${browser} and paste it into the address bar.`;
    } catch {
      // No clipboard in this view: show the link selected, for the system's own copy.
      const field = box.querySelector("input");
      field.hidden = false;
      field.value = location.href;
      field.select();
      status.textContent = "Copy the selected link, then paste it into the address bar of " + browser + ".";
    }
  });
  box.hidden = false;
  return true;
}

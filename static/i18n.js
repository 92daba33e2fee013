/* Interface strings of the investor page, zh-CN and en.
 *
 * Every key must exist in both languages (tests/test_page_static.py checks it). Strings are
 * plain text: the page puts them in with textContent, never as HTML. "{name}" placeholders are
 * filled by t(locale, key, {name: value}). An ES module: import { t } from "./i18n.js".
 */

var STRINGS = {
  "zh-CN": {
    "app.title": "开户视频见证",
    "app.secure": "加密连接 · 仅用于本次开户",
    "lang.switch": "English",
    "lang.switch_label": "切换语言",

    "loading.title": "正在准备见证服务…",
    "loading.body": "请稍候，正在安全连接服务器。",

    "consent.title": "开始前，请了解本次视频见证",
    "consent.lead": "{broker} 将通过本页面为您办理证券账户开户的视频见证。整个过程约 3 至 5 分钟，由数字助理引导您完成。",
    "consent.what_title": "我们会记录什么",
    "consent.what_body": "您的摄像头画面和麦克风声音、您对每个问题的回答，以及操作时间。",
    "consent.why_title": "为什么要记录",
    "consent.why_body": "按照证券监管要求，开户须经本人视频见证，以确认是您本人自愿开户。",
    "consent.keep_title": "保存多久、谁能查看",
    "consent.keep_body": "录像加密保存，仅供 {broker} 的合规审核人员和监管机构查阅，保存期限遵照监管规定。",
    "consent.tips_title": "请做好准备",
    "consent.tips_body": "找一个安静、光线充足的地方，摘下帽子和墨镜，让面部完整出现在画面中。",
    "consent.agree": "我同意，开始见证",
    "consent.note": "点击即表示您同意上述录制。您可以随时取消。",

    "devices.title": "检查摄像头和麦克风",
    "devices.body": "请确认您能在画面中看到自己，并试着说一句话，音量条应随之跳动。",
    "devices.asking": "请在浏览器弹出的提示中选择“允许”使用摄像头和麦克风。",
    "devices.mic_label": "麦克风音量",
    "devices.ready": "设备正常，开始见证",
    "devices.preview_label": "您的摄像头画面",
    "devices.check_camera": "摄像头",
    "devices.check_mic": "麦克风",
    "devices.check_connection": "网络连接",
    "devices.check_ok": "正常",
    "devices.check_camera_wait": "等待画面…",
    "devices.check_mic_wait": "请说一句话",
    "devices.check_connection_wait": "正在检测…",

    "connecting.title": "正在建立安全视频连接…",
    "connecting.body": "通常只需几秒钟，请保持本页面打开。",

    "witness.progress": "第 {current} 步，共 {total} 步",
    "witness.guide_name": "见证助理",
    "witness.listening": "请现在回答",
    "witness.heard": "听到：{text}",
    "witness.unclear": "抱歉，我们没有听清楚您的回答。",
    "witness.heard_refusal": "我们听到您的回答是否定的意思。",
    "witness.not_heard": "我们没有听到您的回答，请靠近麦克风大声一些。",
    "witness.countdown": "剩余 {seconds} 秒",
    "witness.thinking": "请稍候…",
    "witness.speaking": "助理正在讲话",
    "witness.replay": "再听一遍",
    "witness.speed": "语速",
    "witness.speed_slow": "慢",
    "witness.speed_normal": "标准",
    "witness.speed_fast": "快",
    "witness.cancel": "取消见证",
    "witness.face_hint": "请将面部保持在椭圆框内",
    "witness.self_label": "您的画面（对方不会看到镜像效果）",
    "witness.tap_title": "点击继续",
    "witness.tap_body": "浏览器需要您点击一下才能播放助理的声音。",
    "witness.tap_button": "播放助理语音",
    "witness.subtitle_wait": "助理马上开始，请看着屏幕。",

    "cancel.title": "确定要取消见证吗？",
    "cancel.body": "取消后本次录像将停止，您需要联系 {broker} 重新获取见证链接。",
    "cancel.confirm": "是的，取消见证",
    "cancel.keep": "继续见证",

    "done.title": "见证已完成",
    "done.body": "感谢您的配合。录像已安全保存，{broker} 的工作人员将进行审核，结果会通过短信或电话通知您。",
    "done.close": "您现在可以关闭本页面。",

    "ended.title": "见证已结束",
    "ended.contact": "如需继续办理，请联系 {broker} 获取新的见证链接。",
    "aborted.cancelled": "您已取消本次见证，录像已停止。",
    "aborted.connection_lost": "与服务器的连接中断，本次见证未能完成。",
    "aborted.server_shutdown": "服务正在维护，本次见证已暂停。给您带来不便，敬请谅解。",
    "aborted.timeout": "较长时间没有收到回应，本次见证已结束。",
    "aborted.media_failed": "视频连接出现问题，本次见证未能完成。",
    "aborted.declined": "根据您的回答，本次见证已结束。如有误会，请联系 {broker}。",
    "aborted.step_failed": "有一个步骤未能确认，本次见证已结束。{broker} 的工作人员会与您联系。",
    "aborted.media_error": "视频连接出现问题，本次见证未能完成。",
    "aborted.internal_error": "服务器出现了问题，本次见证未能完成。这不是您的原因。",
    "aborted.storage_full": "服务器的存储空间暂时不足，本次见证未能完成。这不是您的原因，已录制的内容会被保存。请联系 {broker} 获取新的见证链接，给您带来不便，敬请谅解。",
    "aborted.client_abuse": "您的页面在短时间内发送了过多消息，连接已断开，本次见证未能完成。请关闭其他打开本链接的窗口或插件后，联系 {broker} 获取新的链接。",
    "aborted.unknown": "本次见证已结束，未能完成。",

    "error.title": "遇到了一点问题",
    "error.title_device": "需要使用您的摄像头和麦克风",
    "error.title_link": "该链接无法使用",
    "error.title_connection": "网络连接有问题",
    "error.title_busy": "请稍候",
    "error.title_browser": "请换一个浏览器",
    "error.retry": "重试",
    "error.permission_denied": "您没有允许使用摄像头或麦克风。请点击地址栏中的摄像头图标，选择“允许”，然后点击“重试”。",
    "error.no_camera": "没有找到可用的摄像头或麦克风。请连接设备或换一台带摄像头的手机或电脑，然后点击“重试”。",
    "error.camera_in_use": "摄像头或麦克风正被其他应用占用。请关闭视频通话等其他应用，然后点击“重试”。",
    "error.device_error": "无法打开摄像头或麦克风。请检查设备后点击“重试”。",
    "error.unsupported": "当前浏览器不支持视频见证。请使用最新版的 Chrome、Edge、Safari 或 Firefox 打开链接（需通过 https 访问）。",
    "error.link_invalid": "该见证链接无效。请核对短信中的链接，或联系 {broker} 重新发送。",
    "error.link_expired": "该见证链接已过期。请联系 {broker} 获取新的链接。",
    "error.link_used": "该见证链接已经使用过，每个链接只能使用一次。如需重新见证，请联系 {broker}。",
    "error.connection_failed": "暂时无法连接到见证服务。请检查网络后点击“重试”。",
    "error.connection_lost": "网络连接已中断，本次见证未能完成。请检查网络，并联系 {broker} 获取新的见证链接。",
    "error.server_error": "服务器出现了问题，这不是您的原因。请稍后重试，或联系 {broker}。",
    "error.bad_offer": "无法建立视频连接。请点击“重试”；如果问题持续，请换用其他浏览器。",
    "error.server_busy": "见证服务当前繁忙，请稍等一分钟后点击“重试”。",
    "error.witness_busy": "当前见证人数已满，您的链接仍然有效，无需重新申请。",
    "error.node_draining": "见证服务正在重启，您的链接仍然有效，无需重新申请。",
    "error.storage_full": "见证服务暂时无法接待见证，这不是您的原因。您的链接仍然有效，无需重新申请，请稍后点击“重试”。",
    "error.busy_wait": "预计等待约 {minutes} 分钟，本页面会自动重试；您也可以点击“重试”。",
    "error.no_microphone": "没有收到您的麦克风声音。见证需要听到您亲口回答，请允许本网页使用麦克风，或连接耳机/麦克风，然后点击“重试”。",
    "error.unsupported_browser": "当前浏览器版本过旧，无法录制视频见证。请将 iPhone / iPad 升级到 iOS 12.2 或更高版本（Safari 12.1 或更高），或使用最新版的 Chrome、Edge、Firefox 重新打开链接。",
    "error.media_failed": "视频连接中断。请检查网络后联系 {broker}。",
    "error.aborted": "本次见证已结束。",

    "attract.title": "欢迎使用开户视频见证",
    "attract.body": "请向工作人员出示您的见证二维码以开始。",
    "attract.start": "轻触屏幕，开始视频见证",
    "attract.error": "暂时无法开始，请稍后再试或联系工作人员。",
    "kiosk.finish": "完成，返回首页",

    "hint.closer": "请再靠近一点",
    "hint.further": "请离远一点",
    "hint.more_light": "光线太暗，请到更亮的地方",
    "hint.face_in_frame": "请将面部移入椭圆框内",
    "hint.one_person": "画面中只能有您一个人",
    "hint.turn_more": "请把头再多转一点",
    "hint.card_corners": "请让身份证的四个角都在框内",
    "hint.card_closer": "请把身份证再靠近摄像头一点",
    "hint.card_still": "请拿稳身份证，保持不动",
    "hint.card_glare": "反光太强，请稍微倾斜身份证",
    "hint.card_turn": "请把身份证翻过来",
    "card.now": "证件 {current}/{total}：{side}",
    "card.side.front": "请出示人像面",
    "card.side.back": "请翻到国徽面",
    "card.reading": "正在识别证件…您可以放下证件了",

    "challenge.now": "动作 {current}/{total}：{action}",
    "challenge.done": "✓ 已完成：{action}",
    "challenge.blink": "眨眨眼",
    "challenge.turn_left": "向左转头",
    "challenge.turn_right": "向右转头",
    "challenge.nod": "点点头",
    "challenge.open_mouth": "张张嘴",

    "common.step_done": "已完成",
    "common.step_current": "进行中"
  },

  "en": {
    "app.title": "Account opening video witness",
    "app.secure": "Encrypted connection · used only for this account",
    "lang.switch": "中文",
    "lang.switch_label": "Change language",

    "loading.title": "Getting things ready…",
    "loading.body": "One moment, we are connecting securely.",

    "consent.title": "Before we start: about this video witness",
    "consent.lead": "{broker} uses this page to witness the opening of your securities account by video. It takes about 3 to 5 minutes, and a digital guide will lead you through it.",
    "consent.what_title": "What we record",
    "consent.what_body": "Your camera picture and microphone sound, your answer to each question, and the time of each step.",
    "consent.why_title": "Why we record",
    "consent.why_body": "Securities rules require a video witness of the account holder, to confirm it is you and that you are opening the account of your own free will.",
    "consent.keep_title": "How long we keep it, and who can see it",
    "consent.keep_body": "The recording is stored encrypted. Only {broker}'s compliance reviewers and the regulator may view it. It is kept for the period the regulations require.",
    "consent.tips_title": "Get ready",
    "consent.tips_body": "Find a quiet, well-lit place, take off hats and sunglasses, and keep your whole face in the picture.",
    "consent.agree": "I agree, start",
    "consent.note": "By tapping you agree to this recording. You can cancel at any time.",

    "devices.title": "Check your camera and microphone",
    "devices.body": "Make sure you can see yourself, then say a few words: the level bar should move.",
    "devices.asking": "When your browser asks, choose \"Allow\" for the camera and microphone.",
    "devices.mic_label": "Microphone level",
    "devices.ready": "Looks good, begin",
    "devices.preview_label": "Your camera picture",
    "devices.check_camera": "Camera",
    "devices.check_mic": "Microphone",
    "devices.check_connection": "Connection",
    "devices.check_ok": "OK",
    "devices.check_camera_wait": "Waiting for a picture…",
    "devices.check_mic_wait": "Please say something",
    "devices.check_connection_wait": "Checking…",

    "connecting.title": "Setting up a secure video connection…",
    "connecting.body": "This usually takes a few seconds. Please keep this page open.",

    "witness.progress": "Step {current} of {total}",
    "witness.guide_name": "Your witness guide",
    "witness.listening": "Please answer now",
    "witness.heard": "We heard: {text}",
    "witness.unclear": "Sorry, we could not hear that clearly.",
    "witness.heard_refusal": "We heard your answer as a no.",
    "witness.not_heard": "We did not hear an answer. Please speak up, close to the microphone.",
    "witness.countdown": "{seconds} s left",
    "witness.thinking": "One moment…",
    "witness.speaking": "The guide is speaking",
    "witness.replay": "Hear it again",
    "witness.speed": "Speech speed",
    "witness.speed_slow": "Slow",
    "witness.speed_normal": "Normal",
    "witness.speed_fast": "Fast",
    "witness.cancel": "Cancel",
    "witness.face_hint": "Keep your face inside the oval",
    "witness.self_label": "Your picture (shown mirrored to you only)",
    "witness.tap_title": "Tap to continue",
    "witness.tap_body": "Your browser needs a tap before the guide's voice can play.",
    "witness.tap_button": "Play the guide's voice",
    "witness.subtitle_wait": "The guide will begin in a moment. Please look at the screen.",

    "cancel.title": "Cancel the video witness?",
    "cancel.body": "The recording will stop, and you will need a new witness link from {broker} to try again.",
    "cancel.confirm": "Yes, cancel",
    "cancel.keep": "Continue",

    "done.title": "Video witness complete",
    "done.body": "Thank you. Your recording is stored securely. {broker} will review it and let you know the result by text message or phone.",
    "done.close": "You can now close this page.",

    "ended.title": "The video witness has ended",
    "ended.contact": "To continue, please ask {broker} for a new witness link.",
    "aborted.cancelled": "You cancelled the video witness. The recording has stopped.",
    "aborted.connection_lost": "The connection to our server was lost, so the witness could not be completed.",
    "aborted.server_shutdown": "The service is down for maintenance, so the witness has been stopped. We are sorry for the trouble.",
    "aborted.timeout": "We did not hear back for a while, so the witness has ended.",
    "aborted.media_failed": "There was a problem with the video connection, so the witness could not be completed.",
    "aborted.declined": "Based on your answer, the video witness has ended. If this was a misunderstanding, please contact {broker}.",
    "aborted.step_failed": "One step could not be confirmed, so the video witness has ended. {broker} will contact you.",
    "aborted.media_error": "There was a problem with the video connection, so the witness could not be completed.",
    "aborted.internal_error": "Something went wrong on our side, not yours, so the witness could not be completed.",
    "aborted.storage_full": "Our server has run out of storage space, so the witness could not be completed. This is not your fault, and what was recorded is kept. Please ask {broker} for a new witness link. We are sorry for the trouble.",
    "aborted.client_abuse": "Your page sent us too many messages in a short time, so the connection was closed and the witness could not be completed. Please close other windows or extensions using this link, then ask {broker} for a new one.",
    "aborted.unknown": "The video witness ended before it was complete.",

    "error.title": "Something went wrong",
    "error.title_device": "We need your camera and microphone",
    "error.title_link": "This link cannot be used",
    "error.title_connection": "Connection problem",
    "error.title_busy": "Please wait a moment",
    "error.title_browser": "Please use another browser",
    "error.retry": "Try again",
    "error.permission_denied": "The camera or microphone was not allowed. Tap the camera icon in the address bar, choose \"Allow\", then tap \"Try again\".",
    "error.no_camera": "We could not find a camera or microphone. Connect one, or use a phone or computer that has a camera, then tap \"Try again\".",
    "error.camera_in_use": "Another app is using the camera or microphone. Close video calls or other camera apps, then tap \"Try again\".",
    "error.device_error": "The camera or microphone could not be started. Check your device, then tap \"Try again\".",
    "error.unsupported": "This browser cannot do a video witness. Please open the link in an up-to-date Chrome, Edge, Safari or Firefox (over https).",
    "error.link_invalid": "This witness link is not valid. Check the link in your message, or ask {broker} to send it again.",
    "error.link_expired": "This witness link has expired. Please ask {broker} for a new one.",
    "error.link_used": "This witness link has already been used; each link works only once. Please ask {broker} for a new one.",
    "error.connection_failed": "We cannot reach the witness service right now. Check your internet connection, then tap \"Try again\".",
    "error.connection_lost": "The internet connection was lost, so the witness could not be completed. Check your connection and ask {broker} for a new witness link.",
    "error.server_error": "Something went wrong on our side, not yours. Please try again later, or contact {broker}.",
    "error.bad_offer": "The video connection could not be set up. Tap \"Try again\"; if it keeps happening, try another browser.",
    "error.server_busy": "The witness service is busy right now. Please wait a minute, then tap \"Try again\".",
    "error.witness_busy": "Every witness place is taken right now. Your link is still valid; you do not need a new one.",
    "error.node_draining": "The witness service is restarting. Your link is still valid; you do not need a new one.",
    "error.storage_full": "The witness service cannot take witnesses right now. This is not your fault. Your link is still valid; you do not need a new one. Please tap \"Try again\" a little later.",
    "error.busy_wait": "The wait should be about {minutes} min; this page will try again by itself, or tap \"Try again\".",
    "error.no_microphone": "We cannot hear your microphone. The witness needs to hear your answers in your own voice: allow this page to use the microphone, or connect a headset or microphone, then tap \"Try again\".",
    "error.unsupported_browser": "This browser version is too old to record a video witness. Please update your iPhone or iPad to iOS 12.2 or later (Safari 12.1 or later), or open the link in an up-to-date Chrome, Edge or Firefox.",
    "error.media_failed": "The video connection dropped. Check your connection and contact {broker}.",
    "error.aborted": "The video witness has ended.",

    "attract.title": "Welcome to the account opening video witness",
    "attract.body": "Please show your witness QR code to a member of staff to begin.",
    "attract.start": "Tap to start your video witness",
    "attract.error": "We cannot start right now. Please try again or ask a member of staff.",
    "kiosk.finish": "Finish and return to start",

    "hint.closer": "Please come a little closer",
    "hint.further": "Please move back a little",
    "hint.more_light": "It is too dark: please find more light",
    "hint.face_in_frame": "Please move your face into the oval",
    "hint.one_person": "Only you should be in the picture",
    "hint.turn_more": "Please turn your head a little more",
    "hint.card_corners": "Keep all four corners of the card in the frame",
    "hint.card_closer": "Move the card a little closer to the camera",
    "hint.card_still": "Hold the card still",
    "hint.card_glare": "Too much glare: tilt the card a little",
    "hint.card_turn": "Turn the card over",
    "card.now": "Card {current} of {total}: {side}",
    "card.side.front": "show the photo side",
    "card.side.back": "turn it over to the emblem side",
    "card.reading": "Reading the card… you can lower it now",

    "challenge.now": "Action {current} of {total}: {action}",
    "challenge.done": "✓ Done: {action}",
    "challenge.blink": "blink",
    "challenge.turn_left": "turn your head to the left",
    "challenge.turn_right": "turn your head to the right",
    "challenge.nod": "nod",
    "challenge.open_mouth": "open your mouth",

    "common.step_done": "done",
    "common.step_current": "in progress"
  }
};

var LOCALES = ["zh-CN", "en"];

function normalizeLocale(value) {
  var v = String(value || "").toLowerCase();
  if (v.indexOf("zh") === 0) return "zh-CN";
  if (v.indexOf("en") === 0) return "en";
  return "zh-CN";
}

/** The string for key in locale, with {name} placeholders filled from params. */
function t(locale, key, params) {
  var table = STRINGS[normalizeLocale(locale)];
  var s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null;
  if (s === null) {
    // A missing key is a bug; show the key rather than nothing so it gets noticed.
    if (typeof console !== "undefined") console.warn("i18n: missing key", key);
    return key;
  }
  return s.replace(/\{(\w+)\}/g, function (m, name) {
    return params && Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
  });
}

export { STRINGS, LOCALES, t, normalizeLocale };

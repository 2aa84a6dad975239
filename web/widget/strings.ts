/** The widget's words, by language; the visitor's (or the page's) language picks them. */
export type Strings = {
  open: string;
  close: string;
  title: string;
  messages: string;
  placeholder: string;
  send: string;
  you: string;
  assistant: string;
  team: string;
  human: string;
  offline: string;
  details: string;
  name: string;
  contact: string;
  save: string;
  saved: string;
  sending: string;
  failed: string;
  greetingFallback: string;
};

const en: Strings = {
  open: 'Open chat',
  close: 'Close chat',
  title: 'Chat with us',
  messages: 'Messages',
  placeholder: 'Write a message…',
  send: 'Send',
  you: 'You',
  assistant: 'Assistant',
  team: 'Team',
  human: 'A person from the team has joined the conversation.',
  offline: 'The chat cannot be reached right now. Trying again…',
  details: 'Leave your contact details',
  name: 'Name',
  contact: 'Email or phone',
  save: 'Save',
  saved: 'Thanks! We will be able to reach you.',
  sending: 'Sending…',
  failed: 'Not sent',
  greetingFallback: 'Hi! How can we help you?',
};

const ar: Strings = {
  open: 'افتح المحادثة',
  close: 'أغلق المحادثة',
  title: 'تحدث معنا',
  messages: 'الرسائل',
  placeholder: 'اكتب رسالة…',
  send: 'إرسال',
  you: 'أنت',
  assistant: 'المساعد',
  team: 'الفريق',
  human: 'انضم أحد أعضاء الفريق إلى المحادثة.',
  offline: 'تعذّر الوصول إلى المحادثة الآن. نحاول مجددًا…',
  details: 'اترك بيانات التواصل',
  name: 'الاسم',
  contact: 'البريد الإلكتروني أو الهاتف',
  save: 'حفظ',
  saved: 'شكرًا! سنتمكن من التواصل معك.',
  sending: 'جارٍ الإرسال…',
  failed: 'لم تُرسل',
  greetingFallback: 'مرحبًا! كيف يمكننا مساعدتك؟',
};

const es: Strings = {
  open: 'Abrir chat',
  close: 'Cerrar chat',
  title: 'Escríbenos',
  messages: 'Mensajes',
  placeholder: 'Escribe un mensaje…',
  send: 'Enviar',
  you: 'Tú',
  assistant: 'Asistente',
  team: 'Equipo',
  human: 'Una persona del equipo se ha unido a la conversación.',
  offline: 'No se puede conectar con el chat ahora. Reintentando…',
  details: 'Deja tus datos de contacto',
  name: 'Nombre',
  contact: 'Email o teléfono',
  save: 'Guardar',
  saved: '¡Gracias! Podremos contactarte.',
  sending: 'Enviando…',
  failed: 'No enviado',
  greetingFallback: '¡Hola! ¿En qué podemos ayudarte?',
};

const byLanguage: Record<string, Strings> = { en, ar, es };

/** Languages written right to left. */
const RTL = new Set(['ar', 'he', 'fa', 'ur']);

export function stringsFor(language: string): { strings: Strings; language: string; rtl: boolean } {
  const base = language.toLowerCase().split('-')[0] ?? 'en';
  const strings = byLanguage[base] ?? en;
  return { strings, language: byLanguage[base] ? base : 'en', rtl: RTL.has(base) };
}

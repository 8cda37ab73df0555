// The consent window (consent.html). Its capability allows consent_current and
// consent_answer only.
import './styles/app.css';
import { mount } from 'svelte';
import ConsentApp from './consent/ConsentApp.svelte';
import { chooseBackend } from './lib/backend';

const { backend } = await chooseBackend();
mount(ConsentApp, { target: document.getElementById('app')!, props: { backend } });

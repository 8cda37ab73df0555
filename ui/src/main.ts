// The main window (index.html).
import './styles/app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { chooseBackend } from './lib/backend';

const { backend, preview } = await chooseBackend();
mount(App, { target: document.getElementById('app')!, props: { backend, preview } });
